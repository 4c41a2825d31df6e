import Foundation
import Testing

@Suite struct SubscriptionAPITests {
    @Test func createWithGivenSecretAndGet() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            let created = try await client.createSubscription("billing", topic: "orders", extra: ["secret_token": "my-super-secret-token"])
            #expect(created.status == .ok)
            let subscription = try created.decode(Wire.Subscription.self)
            #expect(subscription.id == "billing")
            #expect(subscription.topicId == "orders")
            #expect(subscription.url == "http://127.0.0.1:1/hook")
            #expect(subscription.secretToken == "my-super-secret-token")
            #expect(subscription.maxDeliveryAttempts == 5)
            #expect(subscription.deliveryAttemptDelay == 60)
            #expect(subscription.deliveryAttemptTimeout == 5)
            #expect(subscription.status == "active")

            let fetched = try await client.send(.get, "/v1/subscriptions/billing").decode(Wire.Subscription.self)
            #expect(fetched.secretToken == "my-super-secret-token")
            #expect(fetched.createdAt == subscription.createdAt)
        }
    }

    @Test func secretIsGeneratedAndNeverListed() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            let created = try await client.createSubscription("billing", topic: "orders")
            let secret = try #require(created["secret_token"] as? String)
            #expect(secret.hasPrefix("whsec_"))
            #expect(Data(base64Encoded: String(secret.dropFirst(6)))?.count == 32)

            let other = try await client.createSubscription("audit", topic: "orders", extra: ["secret_token": ""])
            #expect((other["secret_token"] as? String)?.hasPrefix("whsec_") == true)
            #expect(other["secret_token"] as? String != secret)

            let list = try await client.send(.get, "/v1/subscriptions")
            #expect(list.list("subscriptions").count == 2)
            #expect(list.list("subscriptions").allSatisfy { $0["secret_token"] == nil })
            #expect(!list.text.contains("whsec_"))
        }
    }

    @Test func validationListsEveryBadField() async throws {
        try await TestApp.run { client, _ in
            let empty = try await client.send(.post, "/v1/subscriptions", #"{"subscription": {}}"#)
            #expect(empty.status == .badRequest)
            #expect(empty.errorCode == "invalid_subscription")
            #expect(
                empty.detailFields == [
                    "id", "topic_id", "name", "url", "max_delivery_attempts", "delivery_attempt_delay", "delivery_attempt_timeout",
                ]
            )

            let bad: [String: Any] = [
                "id": "ok", "topic_id": "orders", "name": "x", "url": "ftp://example.com",
                "max_delivery_attempts": 101, "delivery_attempt_delay": 0, "delivery_attempt_timeout": 61,
                "secret_token": "whsec_!!!",
            ]
            let response = try await client.send(.post, "/v1/subscriptions", bad)
            #expect(
                Set(response.detailFields) == [
                    "url", "max_delivery_attempts", "delivery_attempt_delay", "delivery_attempt_timeout", "secret_token",
                ]
            )

            let types = try await client.send(
                .post,
                "/v1/subscriptions",
                #"{"id": "ok", "topic_id": "orders", "name": "x", "url": "http://example.com", "max_delivery_attempts": "5", "delivery_attempt_delay": 1.5, "delivery_attempt_timeout": 99999999999999999999}"#
            )
            #expect(Set(types.detailFields) == ["max_delivery_attempts", "delivery_attempt_delay", "delivery_attempt_timeout"])

            for url in ["not a url", "/relative", "http://", "mailto:a@b.c"] {
                let response = try await client.createSubscription("s", topic: "orders", url: url)
                #expect(response.detailFields == ["url"], "url \(url)")
            }
        }
    }

    @Test func unknownTopicIs404AndDuplicateIs409() async throws {
        try await TestApp.run { client, _ in
            let orphan = try await client.createSubscription("billing", topic: "nope")
            #expect(orphan.status == .notFound)
            #expect(orphan.errorCode == "topic_does_not_exists")

            try await client.createTopic("orders")
            try await client.createSubscription("billing", topic: "orders")
            let duplicate = try await client.createSubscription("billing", topic: "orders")
            #expect(duplicate.status == .conflict)
            #expect(duplicate.errorCode == "subscription_already_exists")
        }
    }

    @Test func patchKeepsOmittedFieldsIncludingSecret() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            try await client.createTopic("other")
            let created = try await client.createSubscription("billing", topic: "orders", extra: ["secret_token": "keep-me"])

            let patched = try await client.send(
                .patch,
                "/v1/subscriptions/billing",
                #"{"subscription": {"url": "https://example.com/new", "max_delivery_attempts": 9}}"#
            )
            #expect(patched.status == .ok)
            #expect(patched["url"] as? String == "https://example.com/new")
            #expect(patched["max_delivery_attempts"] as? Int == 9)
            #expect(patched["name"] as? String == created["name"] as? String)
            #expect(patched["delivery_attempt_delay"] as? Int == 60)
            #expect(patched["delivery_attempt_timeout"] as? Int == 5)
            #expect(patched["topic_id"] as? String == "orders")

            let fetched = try await client.send(.get, "/v1/subscriptions/billing")
            #expect(fetched["secret_token"] as? String == "keep-me")

            let moved = try await client.send(.patch, "/v1/subscriptions/billing", #"{"topic_id": "other", "secret_token": "rotated"}"#)
            #expect(moved["topic_id"] as? String == "other")
            #expect(moved["secret_token"] as? String == "rotated")

            let bad = try await client.send(
                .patch,
                "/v1/subscriptions/billing",
                #"{"delivery_attempt_timeout": 0, "url": "nope", "secret_token": ""}"#
            )
            #expect(bad.status == .badRequest)
            #expect(Set(bad.detailFields) == ["delivery_attempt_timeout", "url", "secret_token"])
            #expect(try await client.send(.get, "/v1/subscriptions/billing")["url"] as? String == "https://example.com/new")

            let noTopic = try await client.send(.patch, "/v1/subscriptions/billing", #"{"topic_id": "missing"}"#)
            #expect(noTopic.status == .notFound)
            #expect(noTopic.errorCode == "topic_does_not_exists")

            let missing = try await client.send(.patch, "/v1/subscriptions/nope", #"{"name": "x"}"#)
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "subscription_does_not_exists")
        }
    }

    @Test func listFiltersByTopicAndDeleteWorks() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            try await client.createTopic("users")
            try await client.createSubscription("a", topic: "orders")
            try await client.createSubscription("b", topic: "users")
            try await client.createSubscription("c", topic: "orders")

            let orders = try await client.send(.get, "/v1/subscriptions?topic_id=orders")
            #expect(orders.list("subscriptions").compactMap { $0["id"] as? String } == ["a", "c"])
            let none = try await client.send(.get, "/v1/subscriptions?topic_id=nothing")
            #expect(none.text == #"{"subscriptions":[]}"#)

            #expect(try await client.send(.delete, "/v1/subscriptions/a").text == "{}")
            #expect(try await client.send(.get, "/v1/subscriptions/a").errorCode == "subscription_does_not_exists")
            #expect(try await client.send(.delete, "/v1/subscriptions/a").status == .notFound)
        }
    }
}
