import Crypto
import Foundation
import Hammer
import PostgresNIO
import Testing

/// `POST /v1/subscriptions/{id}/test`: a signed test event sent at once, nothing stored.
@Suite struct SubscriptionTestTests {
    @Test func sendsASignedTestEventAndAnswersWithTheAttempt() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription(
                "billing",
                topic: "orders",
                url: receiver.url,
                extra: ["secret_token": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
            )

            let test = try await client.send(.post, "/v1/subscriptions/billing/test")
            #expect(test.status == .ok)
            #expect(test["success"] as? Bool == true)
            #expect(test["response_status_code"] as? Int == 200)
            #expect(test["subscription_id"] as? String == "billing")
            #expect(test["url"] as? String == receiver.url)
            #expect(test["error_kind"] == nil)
            #expect((test["response"] as? String)?.contains(#"{"ok":true}"#) == true)

            let request = try #require(await receiver.log.requests.first)
            let webhookID = try #require(test["webhook_id"] as? String)
            #expect(request.header("webhook-id") == webhookID)
            let timestamp = try #require(request.header("webhook-timestamp"))
            let key = SymmetricKey(data: Data(base64Encoded: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!)
            let signed = Data("\(webhookID).\(timestamp).".utf8) + request.body
            #expect(
                request.header("webhook-signature") == "v1," + Data(HMAC<SHA256>.authenticationCode(for: signed, using: key)).base64EncodedString()
            )
            #expect(request.json["type"] as? String == "hammer.subscription.test")
            #expect(request.json["source"] as? String == "/v1/subscriptions/billing/test")

            // Outside the queue: no message, delivery or attempt was stored.
            for table in ["messages", "deliveries", "delivery_attempts"] {
                let rows = try await store.client.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)")).collect()
                #expect(try rows.first?.decode(Int.self) == 0)
            }
        }
    }

    @Test func aFailingReceiverIsReportedWithItsErrorKind() async throws {
        let receiver = try await WebhookReceiver.start { _ in .init(status: .serviceUnavailable) }
        defer { receiver.stop() }
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            try await client.createSubscription("down", topic: "orders", url: receiver.url)
            try await client.createSubscription("refused", topic: "orders", url: "http://127.0.0.1:1/hook")

            let down = try await client.send(.post, "/v1/subscriptions/down/test")
            #expect(down.status == .ok)
            #expect(down["success"] as? Bool == false)
            #expect(down["response_status_code"] as? Int == 503)
            #expect(down["error_kind"] as? String == "http_status")

            let refused = try await client.send(.post, "/v1/subscriptions/refused/test")
            #expect(refused["success"] as? Bool == false)
            #expect(refused["response_status_code"] as? Int == 0)
            #expect(refused["error_kind"] as? String == "connection_refused")

            let missing = try await client.send(.post, "/v1/subscriptions/nope/test")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "subscription_does_not_exists")
        }
    }
}
