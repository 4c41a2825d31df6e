import Foundation

/// A signed test event sent at once to a subscription, outside the queue: nothing is stored.
/// Used by `POST /v1/subscriptions/{id}/test` and `hammer subscriptions test ID`.
public struct SubscriptionTest: Sendable, Encodable {
    public var subscriptionID: String
    /// The `webhook-id` header (and CloudEvents id) the test event carried.
    public var webhookID: String
    public var url: String
    public var request: String
    public var response: String
    /// 0 when no response arrived.
    public var responseStatusCode: Int
    /// Milliseconds from sending until the response body was read.
    public var executionDuration: Int
    public var success: Bool
    public var error: String
    /// A bounded failure class (`http_status`, `timeout`, `connection_refused`, …); absent on success.
    public var errorKind: String?
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case url, request, response, success, error
        case subscriptionID = "subscription_id"
        case webhookID = "webhook_id"
        case responseStatusCode = "response_status_code"
        case executionDuration = "execution_duration"
        case errorKind = "error_kind"
        case createdAt = "created_at"
    }

    /// Sends the test event as the subscription's deliveries are sent (URL, method, headers, auth, payload format,
    /// secrets, timeout), on `sender`. Its message is the test event's data, published now.
    public static func run(_ subscription: Subscription, sender: WebhookSender) async -> SubscriptionTest {
        let now = Date()
        let id = ULID.make(date: now)
        let data = #"{"message":"hammer test event","subscription_id":"# + JSONText.quoted(subscription.id) + "}"
        let delivery = ClaimedDelivery(
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
            lease: 0,
            isTest: true
        )
        let result = await sender.send(delivery, now: now)
        return SubscriptionTest(
            subscriptionID: subscription.id,
            webhookID: id,
            url: subscription.url,
            request: result.request,
            response: result.response,
            responseStatusCode: result.statusCode,
            executionDuration: result.durationMilliseconds,
            success: result.success,
            error: result.error,
            errorKind: result.errorKind?.rawValue,
            createdAt: now
        )
    }
}
