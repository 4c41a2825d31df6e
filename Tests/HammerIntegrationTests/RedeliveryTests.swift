import Foundation
import Hammer
import PostgresNIO
import Testing

/// `POST /v1/deliveries/{id}/redeliver` and the store calls behind `hammer redeliver`.
@Suite struct RedeliveryTests {
    @Test func redeliveringAFailedDeliverySendsItAgainWithTheSameWebhookID() async throws {
        // The first request fails and exhausts the single attempt; later ones succeed.
        let receiver = try await WebhookReceiver.start { number in .init(status: number == 1 ? .internalServerError : .ok) }
        defer { receiver.stop() }
        try await TestApp.run { client, _, url in
            try await client.createTopic("orders")
            try await client.createSubscription("billing", topic: "orders", url: receiver.url, extra: ["max_delivery_attempts": 1])
            try await client.publish(topic: "orders")
            let worker = try TestWorker.start(url)
            let deliveryID = try #require(try await client.send(.get, "/v1/deliveries").list("deliveries").first?["id"] as? String)
            try await eventually("the delivery to fail") {
                try await client.send(.get, "/v1/deliveries/\(deliveryID)")["status"] as? String == "failed"
            }

            let redelivered = try await client.send(.post, "/v1/deliveries/\(deliveryID)/redeliver")
            #expect(redelivered.status == .accepted)
            #expect(redelivered["id"] as? String == deliveryID)
            #expect(redelivered["status"] as? String == "pending")
            #expect(redelivered["delivery_attempts"] as? Int == 0)

            try await eventually("the redelivery to complete") {
                try await client.send(.get, "/v1/deliveries/\(deliveryID)")["status"] as? String == "completed"
            }
            try await worker.stop()
            let requests = await receiver.log.requests
            #expect(requests.map { $0.header("webhook-id") } == [deliveryID, deliveryID])
            let attempts = try await client.send(.get, "/v1/delivery-attempts?delivery_id=\(deliveryID)").list("delivery_attempts")
            #expect(attempts.map { $0["response_status_code"] as? Int } == [500, 200])
            #expect(try await client.send(.get, "/v1/deliveries/\(deliveryID)")["delivery_attempts"] as? Int == 1)
        }
    }

    @Test func aPendingDeliveryIsRefusedAndAnUnknownOneIsNotFound() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("billing", topic: "orders")
            try await client.publish(topic: "orders")
            let delivery = try #require(try await client.send(.get, "/v1/deliveries").list("deliveries").first)
            let deliveryID = try #require(delivery["id"] as? String)

            let pending = try await client.send(.post, "/v1/deliveries/\(deliveryID)/redeliver")
            #expect(pending.status == .conflict)
            #expect(pending.errorCode == "delivery_is_pending")
            #expect(pending["code"] as? Int == 9)
            #expect(try await client.send(.get, "/v1/deliveries/\(deliveryID)")["updated_at"] as? String == delivery["updated_at"] as? String)

            let missing = try await client.send(.post, "/v1/deliveries/nope/redeliver")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "delivery_does_not_exists")
        }
    }

    @Test func redeliveryUsesTheSubscriptionsCurrentURLAndSettings() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("billing", topic: "orders", url: "http://127.0.0.1:1/old")
            try await client.publish(topic: "orders")
            try await store.client.markDeliveries(attempts: 5)
            try await client.send(.patch, "/v1/subscriptions/billing", ["url": "http://127.0.0.1:2/new", "max_delivery_attempts": 9])
            let deliveryID = try #require(try await client.send(.get, "/v1/deliveries").list("deliveries").first?["id"] as? String)

            let redelivered = try await client.send(.post, "/v1/deliveries/\(deliveryID)/redeliver")
            #expect(redelivered.status == .accepted)
            #expect(redelivered["url"] as? String == "http://127.0.0.1:2/new")
            #expect(redelivered["max_delivery_attempts"] as? Int == 9)
            #expect(redelivered["delivery_attempts"] as? Int == 0)
        }
    }

    @Test func aFilteredRedeliveryTouchesOnlyMatchingDeliveriesInBatches() async throws {
        try await Fixture.withOrders(subscriptions: ["a", "b"]) { fixture in
            let store = fixture.store
            for _ in 0..<5 { try await fixture.publish(topic: "orders") }
            try await fixture.client.markDeliveries(attempts: 5, changedSecondsAgo: 3600)
            // One of a's failures is old, one of b's deliveries completed.
            try await fixture.client.query(
                "UPDATE deliveries SET updated_at = now() - interval '3 days' WHERE id = (SELECT min(id) FROM deliveries WHERE subscription_id = 'a')"
            )
            try await fixture.client.query(
                "UPDATE deliveries SET status = 'completed' WHERE id = (SELECT min(id) FROM deliveries WHERE subscription_id = 'b')"
            )
            try await fixture.client.matchQueueToStatuses()

            let filter = RedeliveryFilter(subscriptionID: "a", statuses: [.failed], since: Date().addingTimeInterval(-86400), until: Date())
            #expect(try await store.countRedeliverable(filter) == 4)
            #expect(try await store.redeliver(filter, limit: 3) == 3)
            #expect(try await store.redeliver(filter, limit: 3) == 1)
            #expect(try await store.redeliver(filter, limit: 3) == 0)
            #expect(
                try await fixture.client.freshPendingDeliveries(subscription: "a") == 4
            )
            #expect(try await fixture.statuses() == ["pending": 4, "failed": 5, "completed": 1])

            let completed = RedeliveryFilter(statuses: [.completed], until: Date())
            #expect(try await store.countRedeliverable(completed) == 1)
            #expect(try await store.redeliver(completed, limit: 10) == 1)
            #expect(try await fixture.statuses() == ["pending": 5, "failed": 5])
        }
    }
}
