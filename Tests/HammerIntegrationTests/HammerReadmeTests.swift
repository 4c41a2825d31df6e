import Foundation
import HTTPTypes
import Testing

/// Every call of the Go hammer's README, verbatim (the bodies its httpie and curl examples send), works here:
/// hammer's users copy them first. The subscription's httpbin.org does not resolve on a test machine, which is
/// accepted (the send-time check decides).
@Suite struct HammerReadmeTests {
    @Test func theEarlyReadmesHttpieCalls() async throws {
        try await TestApp.run(environment: ["HAMMER_ALLOW_PRIVATE_TARGETS": "false"]) { client, _ in
            // http POST http://localhost:8000/v1/topics topic:='{"id": "person", "name": "Person"}'
            let topic = try await client.send(.post, "/v1/topics", #"{"topic": {"id": "person", "name": "Person"}}"#)
            #expect(topic.status == .ok, "\(topic.text)")
            #expect(topic["id"] as? String == "person")
            // http POST http://localhost:8000/v1/subscriptions subscription:='{…}'
            let subscription = try await client.send(
                .post,
                "/v1/subscriptions",
                #"{"subscription": {"id": "httpbin-post", "topic_id": "person", "name": "Httpbin Post", "url": "https://httpbin.org/post", "secret_token": "my-super-secret-token", "max_delivery_attempts": 5, "delivery_attempt_delay": 60, "delivery_attempt_timeout": 5}}"#
            )
            #expect(subscription.status == .ok, "\(subscription.text)")
            #expect(subscription["secret_token"] as? String == "my-super-secret-token")
            // http POST http://localhost:8000/v1/messages message:='{"topic_id": "person", "data": "{\"name\": \"Allisson\"}"}'
            let message = try await client.send(.post, "/v1/messages", #"{"message": {"topic_id": "person", "data": "{\"name\": \"Allisson\"}"}}"#)
            #expect(message.status == .ok, "\(message.text)")
            #expect(message["content_type"] as? String == "application/json")
            #expect(message["data"] as? String == "eyJuYW1lIjogIkFsbGlzc29uIn0=")
            // http http://localhost:8000/v1/deliveries/<id> and http …/v1/delivery-attempts delivery_id==<id>
            let messageID = try #require(message["id"] as? String)
            let deliveries = try await client.send(.get, "/v1/deliveries?message_id=\(messageID)").list("deliveries")
            let deliveryID = try #require(deliveries.first?["id"] as? String)
            let delivery = try await client.send(.get, "/v1/deliveries/\(deliveryID)")
            #expect(delivery.status == .ok)
            #expect(delivery["content_type"] as? String == "application/json")
            #expect(delivery["url"] as? String == "https://httpbin.org/post")
            let attempts = try await client.send(.get, "/v1/delivery-attempts?delivery_id=\(deliveryID)")
            #expect(attempts.status == .ok)
            #expect(attempts.object["delivery_attempts"] is [Any])
        }
    }

    @Test func theV091ReadmesCurlCalls() async throws {
        try await TestApp.run(environment: ["HAMMER_ALLOW_PRIVATE_TARGETS": "false"]) { client, _ in
            let topic = try await client.send(.post, "/v1/topics", "{\n  \"topic\": {\n    \"id\": \"topic\",\n    \"name\": \"Topic\"\n  }\n}")
            #expect(topic.status == .ok, "\(topic.text)")
            let subscription = try await client.send(
                .post,
                "/v1/subscriptions",
                "{\n\t\"subscription\": {\n\t\t\"id\": \"httpbin-post\",\n\t\t\"topic_id\": \"topic\",\n\t\t\"name\": \"Httpbin Post\",\n\t\t\"url\": \"https://httpbin.org/post\",\n\t\t\"secret_token\": \"my-super-secret-token\",\n\t\t\"max_delivery_attempts\": 5,\n\t\t\"delivery_attempt_delay\": 60,\n\t\t\"delivery_attempt_timeout\": 5\n\t}\n}"
            )
            #expect(subscription.status == .ok, "\(subscription.text)")
            let message = try await client.send(
                .post,
                "/v1/messages",
                "{\n\t\"message\": {\n\t\t\"topic_id\": \"topic\",\n\t\t\"content_type\": \"application/json\",\n\t\t\"data\": \"{\\\"name\\\": \\\"Allisson\\\"}\"\n\t}\n}"
            )
            #expect(message.status == .ok, "\(message.text)")
            #expect(message["data"] as? String == "eyJuYW1lIjogIkFsbGlzc29uIn0=")
            let topics = try await client.send(.get, "/v1/topics")
            #expect(topics.list("topics").compactMap { $0["id"] as? String } == ["topic"])
            let deliveries = try await client.send(.get, "/v1/deliveries").list("deliveries")
            let deliveryID = try #require(deliveries.first?["id"] as? String)
            #expect(try await client.send(.get, "/v1/deliveries/\(deliveryID)").status == .ok)
        }
    }
}
