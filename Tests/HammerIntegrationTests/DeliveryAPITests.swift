import Foundation
import PostgresNIO
import Testing

@Suite struct DeliveryAPITests {
    @Test func filtersByTopicSubscriptionMessageAndStatus() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createTopic("users")
            try await client.createSubscription("a", topic: "orders")
            try await client.createSubscription("b", topic: "orders")
            try await client.createSubscription("c", topic: "users")
            let m1 = try await client.publish(topic: "orders")["id"] as! String
            _ = try await client.publish(topic: "users")
            try await store.client.markDeliveries(subscription: "b")

            func ids(_ query: String) async throws -> [String] {
                try await client.send(.get, "/v1/deliveries?\(query)").list("deliveries").compactMap { $0["subscription_id"] as? String }
            }
            #expect(try await ids("topic_id=orders").sorted() == ["a", "b"])
            #expect(try await ids("subscription_id=c") == ["c"])
            #expect(try await ids("message_id=\(m1)").sorted() == ["a", "b"])
            #expect(try await ids("status=failed") == ["b"])
            #expect(try await ids("status=pending").sorted() == ["a", "c"])
            #expect(try await ids("status=completed").isEmpty)
            #expect(try await ids("topic_id=orders&status=pending") == ["a"])

            let bad = try await client.send(.get, "/v1/deliveries?status=done")
            #expect(bad.status == .badRequest)
            #expect(bad.errorCode == "invalid_query")
            #expect(bad.detailFields == ["status"])
        }
    }

    @Test func getDeliveryAndAttempts() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("a", topic: "orders")
            try await client.publish(topic: "orders")
            let delivery = try #require(try await client.send(.get, "/v1/deliveries").list("deliveries").first)
            let id = try #require(delivery["id"] as? String)
            let fetched = try await client.send(.get, "/v1/deliveries/\(id)")
            #expect(fetched.status == .ok)
            let typed = try fetched.decode(Wire.Delivery.self)
            #expect(typed.id == id)
            #expect(typed.subscriptionId == "a")
            #expect(typed.status == "pending")
            #expect(typed.deliveryAttempts == 0)

            // Attempt ids are ULIDs, made after their delivery's: partitions are ranges of them.
            let attemptIDs = ["0", "1"].map { String(id.prefix(10)) + "ATTEMPT00000000" + $0 }
            for (index, success) in [false, true].enumerated() {
                try await store.client.query(
                    """
                    INSERT INTO delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, error, created_at)
                    VALUES (\(attemptIDs[index]), \(id), 'POST /hook HTTP/1.1', 'HTTP/1.1 200 OK', \(success ? 200 : 500), \(10 + index), \(success), \(success ? "" : "status 500"), now() + make_interval(secs => \(index)))
                    """
                )
            }
            let attempts = try await client.send(.get, "/v1/delivery-attempts?delivery_id=\(id)").decodeList(of: Wire.DeliveryAttempt.self)
            #expect(attempts.map(\.id) == attemptIDs)
            #expect(attempts.allSatisfy { $0.deliveryId == id })
            #expect(attempts.first?.success == false)
            #expect(attempts.first?.error == "status 500")
            #expect(attempts.first?.responseStatusCode == 500)
            #expect(attempts.last?.executionDuration == 11)

            let one = try await client.send(.get, "/v1/delivery-attempts/\(attemptIDs[1])")
            #expect(one["delivery_id"] as? String == id)
            #expect(one["request"] as? String == "POST /hook HTTP/1.1")
            #expect(one["response"] as? String == "HTTP/1.1 200 OK")

            #expect(try await client.send(.get, "/v1/delivery-attempts?delivery_id=other").list("delivery_attempts").isEmpty)
            let noAttempt = try await client.send(.get, "/v1/delivery-attempts/nope")
            #expect(noAttempt.status == .notFound)
            #expect(noAttempt.errorCode == "delivery_attempt_does_not_exists")
            let noDelivery = try await client.send(.get, "/v1/deliveries/nope")
            #expect(noDelivery.status == .notFound)
            #expect(noDelivery.errorCode == "delivery_does_not_exists")
        }
    }

    @Test func deletesCascade() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createTopic("users")
            try await client.createSubscription("a", topic: "orders")
            try await client.createSubscription("b", topic: "orders")
            try await client.createSubscription("c", topic: "users")
            let message = try await client.publish(topic: "orders")["id"] as! String
            try await client.publish(topic: "orders")
            try await client.publish(topic: "users")
            try await store.client.query(
                """
                INSERT INTO delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success)
                SELECT hammer_ulid(), id, '', '', 200, 1, true FROM deliveries
                """
            )
            #expect(try await store.client.rowCount(.deliveries) == 5)
            #expect(try await store.client.rowCount(.deliveryAttempts) == 5)

            try await client.send(.delete, "/v1/messages/\(message)")
            #expect(try await store.client.rowCount(.deliveries) == 3)
            #expect(try await store.client.rowCount(.deliveryAttempts) == 3)
            #expect(try await store.client.rowCount(.deliveryQueue) == 3)

            try await client.send(.delete, "/v1/subscriptions/a")
            #expect(try await store.client.rowCount(.deliveries) == 2)
            #expect(try await store.client.rowCount(.deliveryAttempts) == 2)
            #expect(try await store.client.rowCount(.deliveryQueue) == 2)

            try await client.send(.delete, "/v1/topics/orders")
            #expect(try await store.client.rowCount(.subscriptions) == 1)
            #expect(try await store.client.rowCount(.messages) == 1)
            #expect(try await store.client.rowCount(.deliveries) == 1)
            #expect(try await store.client.rowCount(.deliveryAttempts) == 1)
            #expect(try await store.client.rowCount(.deliveryQueue) == 1)
        }
    }
}
