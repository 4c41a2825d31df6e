import Foundation

extension SubscriptionTest {
    /// Sends the test event as the subscription's deliveries are sent (URL, method, headers, auth, payload format,
    /// secrets, timeout), on `sender`. Its message is the test event's data, published now.
    public static func run(_ subscription: Subscription, sender: WebhookSender) async -> SubscriptionTest {
        let now = Date()
        let id = ULID.make(date: now)
        let data = #"{"message":"hammer test event","subscription_id":"# + JSONText.quoted(subscription.id) + "}"
        let delivery = ClaimedDelivery(
            kind: .test,
            id: id,
            topicID: subscription.topicID,
            subscriptionID: subscription.id,
            messageID: id,
            contentType: "application/json",
            dataBase64: Data(data.utf8).base64EncodedString(),
            publishedAt: now,
            url: subscription.url,
            secretToken: subscription.secretToken ?? "",
            previousSecretToken: subscription.previousSecretToken,
            options: subscription.options,
            maxDeliveryAttempts: 1,
            deliveryAttemptDelay: 0,
            deliveryAttemptTimeout: subscription.deliveryAttemptTimeout,
            deliveryAttempts: 0,
            lease: 0
        )
        let result = await sender.send(delivery, now: now)
        return SubscriptionTest(
            subscriptionID: subscription.id,
            webhookID: id,
            url: subscription.url,
            record: AttemptRecord(
                request: result.request + (result.recordedBody.body(of: delivery) ?? ""),
                response: result.response,
                responseStatusCode: result.statusCode,
                executionDuration: result.durationMilliseconds,
                success: result.success,
                error: result.error,
                errorKind: result.errorKind?.rawValue ?? "",
                createdAt: now
            )
        )
    }
}
