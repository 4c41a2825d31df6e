import Foundation
import HTTPTypes
import Hammer
import HummingbirdTesting
import Testing

/// Outcome callbacks (docs/endpoint-health.md) through the HTTP API, sent by a real worker to a real receiver.
@Suite struct CallbackTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// The app with topic `orders`, a worker, a webhook receiver and a callback receiver.
    private func scenario(
        target: WebhookReceiver.Replies = .always(.init()),
        callbacks: WebhookReceiver.Replies = .always(.init()),
        workerEnvironment: [String: String] = [:],
        _ body: @escaping @Sendable (any TestClientProtocol, WebhookReceiver, WebhookReceiver) async throws -> Void
    ) async throws {
        let receiver = try await WebhookReceiver.start(reply: target.reply)
        defer { receiver.stop() }
        let callbackReceiver = try await WebhookReceiver.start(reply: callbacks.reply)
        defer { callbackReceiver.stop() }
        try await TestApp.run { client, _, url in
            let worker = try TestWorker.start(url, environment: workerEnvironment)
            try await client.createTopic("orders")
            do {
                try await body(client, receiver, callbackReceiver)
            } catch {
                try await worker.stop()
                throw error
            }
            try await worker.stop()
        }
    }

    private func callbacks(_ client: any TestClientProtocol, _ query: String = "") async throws -> [[String: Any]] {
        try await client.send(.get, "/v1/callbacks?limit=50\(query)").list("callbacks")
    }

    @Test func failedAndCompletedDeliveriesAreCalledBackSigned() async throws {
        try await scenario(target: .init { _ in .init() }) { client, receiver, callbackReceiver in
            let events = ["delivery.failed", "delivery.completed"]
            try await client.createSubscription(
                "ok",
                topic: "orders",
                url: receiver.url,
                extra: ["secret_token": Self.secret, "callback_url": callbackReceiver.url, "callback_events": events]
            )
            try await client.createSubscription(
                "bad",
                topic: "orders",
                url: "http://127.0.0.1:1/refused",
                extra: ["secret_token": Self.secret, "callback_url": callbackReceiver.url, "callback_events": events, "max_delivery_attempts": 1]
            )
            try await client.send(.post, "/v1/messages", ["topic_id": "orders", "data": #"{"n": 1}"#, "event_type": "order.created"])
            try await eventually("both callbacks") { await callbackReceiver.log.count == 2 }

            for request in await callbackReceiver.log.requests {
                #expect(try StandardWebhooksVerifier.verifies(request, secret: Self.secret))
                #expect(request.header("Content-Type") == "application/json")
                let event = request.json
                let delivery = try #require(event["delivery"] as? [String: Any])
                let deliveryID = try #require(delivery["id"] as? String)
                // The delivery object is what the API shows for it.
                let shown = try await client.send(.get, "/v1/deliveries/\(deliveryID)")
                #expect(NSDictionary(dictionary: delivery).isEqual(to: shown.object), "\(delivery) vs \(shown.object)")
                let last = try #require(event["last_attempt"] as? [String: Any])
                switch event["subscription_id"] as? String {
                case "ok":
                    #expect(event["type"] as? String == "delivery.completed")
                    #expect(last["response_status_code"] as? Int == 200)
                    #expect(last["error_kind"] is NSNull)
                case "bad":
                    #expect(event["type"] as? String == "delivery.failed")
                    #expect(last["response_status_code"] as? Int == 0)
                    #expect(last["error"] as? String == "connection refused")
                    #expect(last["error_kind"] as? String == "connection_refused")
                default:
                    Issue.record("unexpected callback \(event)")
                }
                #expect(last["created_at"] is String)
            }
            let listed = try await callbacks(client)
            #expect(Set(listed.compactMap { $0["type"] as? String }) == ["delivery.failed", "delivery.completed"])
            try await eventually("both callbacks recorded as completed") {
                try await callbacks(client, "&status=completed").count == 2
            }
            let one = try await client.send(.get, "/v1/callbacks/\(listed[0]["id"] as! String)")
            let attempts = try #require(one["attempt_records"] as? [[String: Any]])
            #expect(attempts.count == 1)
            #expect(attempts.first?["success"] as? Bool == true)
            #expect((attempts.first?["request"] as? String)?.hasPrefix("POST /hook HTTP/1.1") == true)
        }
    }

    @Test func aGoneEndpointIsDisabledAndCalledBack() async throws {
        try await scenario(target: .always(.init(status: .gone))) { client, receiver, callbackReceiver in
            // The default events: delivery.failed and subscription.disabled.
            try await client.createSubscription(
                "gone",
                topic: "orders",
                url: receiver.url,
                extra: ["secret_token": Self.secret, "callback_url": callbackReceiver.url]
            )
            try await client.publish(topic: "orders")
            try await eventually("the disabled callback") { await callbackReceiver.log.count == 1 }
            let request = try #require(await callbackReceiver.log.requests.first)
            #expect(try StandardWebhooksVerifier.verifies(request, secret: Self.secret))
            #expect(request.json["type"] as? String == "subscription.disabled")
            #expect(request.json["subscription_id"] as? String == "gone")
            #expect(request.json["reason"] as? String == "the endpoint answered 410 Gone")
            #expect(try await client.send(.get, "/v1/subscriptions/gone")["status"] as? String == "disabled")
            #expect(try await callbacks(client, "&type=subscription.disabled").count == 1)
        }
    }

    @Test func aCallbackIsRetriedAfterItsReceiverFailsTwice() async throws {
        try await scenario(callbacks: .first(2, .init(status: .serviceUnavailable))) { client, receiver, callbackReceiver in
            try await client.createSubscription(
                "ok",
                topic: "orders",
                url: receiver.url,
                extra: ["callback_url": callbackReceiver.url, "callback_events": ["delivery.completed"], "delivery_attempt_delay": 1]
            )
            try await client.publish(topic: "orders")
            try await eventually("the callback to complete on its third attempt") {
                try await callbacks(client, "&status=completed").count == 1
            }
            #expect(await callbackReceiver.log.count == 3)
            let id = try #require(try await callbacks(client).first?["id"] as? String)
            let callback = try await client.send(.get, "/v1/callbacks/\(id)")
            #expect(callback["attempts"] as? Int == 3)
            let attempts = try #require(callback["attempt_records"] as? [[String: Any]])
            #expect(attempts.map { $0["response_status_code"] as? Int } == [503, 503, 200])
            // Every attempt carries the same webhook-id.
            #expect(Set(await callbackReceiver.log.requests.compactMap { $0.header("webhook-id") }) == [id])
        }
    }

    @Test func aFailingCallbackNeverCausesAnotherNorDisablesTheSubscription() async throws {
        try await scenario(
            callbacks: .always(.init(status: .gone)),
            workerEnvironment: ["HAMMER_DISABLE_AFTER_FAILING_FOR": "1s"]
        ) { client, receiver, callbackReceiver in
            try await client.createSubscription(
                "ok",
                topic: "orders",
                url: receiver.url,
                extra: [
                    "callback_url": callbackReceiver.url, "callback_events": ["delivery.completed", "delivery.failed", "subscription.disabled"],
                    "delivery_attempt_delay": 1, "max_delivery_attempts": 2,
                ]
            )
            try await client.publish(topic: "orders")
            try await eventually("the callback to fail after its attempts") { try await callbacks(client, "&status=failed").count == 1 }
            #expect(await callbackReceiver.log.count == 2)
            #expect(try await callbacks(client).count == 1)
            #expect(try await client.send(.get, "/v1/subscriptions/ok")["status"] as? String == "active")
        }
    }

    @Test func aSlowCallbackReceiverHoldsOnlyTheCallbacksPoolAndNotOtherSubscriptionsSlots() async throws {
        // Concurrency 8: callbacks may hold 2 send slots; the callback receiver answers only after 60 s.
        try await scenario(
            callbacks: .always(.init(delay: .seconds(60))),
            workerEnvironment: ["HAMMER_WORKER_CONCURRENCY": "8", "HAMMER_WORKER_BATCH_SIZE": "50"]
        ) { client, receiver, callbackReceiver in
            try await client.createSubscription(
                "watched",
                topic: "orders",
                url: receiver.url,
                extra: [
                    "callback_url": callbackReceiver.url, "callback_events": ["delivery.completed"], "delivery_attempt_timeout": 20,
                ]
            )
            for n in 0..<20 { try await client.publish(topic: "orders", data: #"{"n": \#(n)}"#) }
            try await eventually("callbacks to hang at their receiver") { await callbackReceiver.log.count >= 2 }

            let healthyReceiver = try await WebhookReceiver.start()
            defer { healthyReceiver.stop() }
            try await client.createTopic("other")
            try await client.createSubscription("healthy", topic: "other", url: healthyReceiver.url)
            for n in 0..<20 { try await client.publish(topic: "other", data: #"{"n": \#(n)}"#) }
            // Well within the 20 s the hanging callbacks hold their slots: the healthy subscription is not kept waiting.
            try await eventually(timeout: .seconds(12), "the healthy subscription's 20 deliveries") { await healthyReceiver.log.count == 20 }
            #expect(await callbackReceiver.log.mostAtOnce <= 2)
        }
    }

    @Test func callbackSettingsAreValidated() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            let bad = try await client.createSubscription(
                "s",
                topic: "orders",
                extra: ["callback_url": "ftp://x", "callback_events": ["delivery.lost"]]
            )
            #expect(bad.detailFields == ["callback_url", "callback_events[0]"])
            let created = try await client.createSubscription("s", topic: "orders", extra: ["callback_url": "https://example.com/cb"])
            #expect(created["callback_events"] as? [String] == ["delivery.failed", "subscription.disabled"])
            let query = try await client.send(.get, "/v1/callbacks?type=nope&status=lost")
            #expect(query.detailFields == ["type", "status"])
            #expect(try await client.send(.get, "/v1/callbacks/nope").status == .notFound)
        }
    }
}
