import Foundation
import Testing

@Suite struct TopicAPITests {
    @Test func createWrappedAndFlatThenGet() async throws {
        try await TestApp.run { client, _ in
            let wrapped = try await client.send(.post, "/v1/topics", #"{"topic": {"id": "orders", "name": "Orders"}}"#)
            #expect(wrapped.status == .ok)
            let topic = try wrapped.decode(Wire.Topic.self)
            #expect(topic.id == "orders")
            #expect(topic.name == "Orders")
            #expect(topic.createdAt.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/) != nil)
            #expect(topic.updatedAt == topic.createdAt)

            let flat = try await client.send(.post, "/v1/topics", #"{"id": "users", "name": "Users", "unknown": true}"#)
            #expect(flat.status == .ok)
            #expect(try flat.decode(Wire.Topic.self).id == "users")

            let fetched = try await client.send(.get, "/v1/topics/orders")
            #expect(fetched.status == .ok)
            #expect(try fetched.decode(Wire.Topic.self) == topic)
            #expect(try await client.send(.get, "/v1/topics").decodeList(of: Wire.Topic.self).map(\.id) == ["orders", "users"])
        }
    }

    @Test func duplicateIs409() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            let again = try await client.createTopic("orders")
            #expect(again.status == .conflict)
            let error = try again.decode(Wire.ErrorBody.self)
            #expect(error.error == "topic_already_exists")
            #expect(error.code == 6)
            #expect(error.message == #"topic "orders" already exists"#)
        }
    }

    @Test func invalidFieldsAreAllReported() async throws {
        try await TestApp.run { client, _ in
            let missing = try await client.send(.post, "/v1/topics", "{}")
            #expect(missing.status == .badRequest)
            #expect(missing.errorCode == "invalid_topic")
            #expect(missing["code"] as? Int == 3)
            #expect(missing.detailFields == ["id", "name"])

            let wrong = try await client.send(.post, "/v1/topics", #"{"id": "bad id/..", "name": 12}"#)
            #expect(wrong.status == .badRequest)
            #expect(Set(wrong.detailFields) == ["id", "name"])

            let blank = try await client.send(.post, "/v1/topics", #"{"id": "ok", "name": "   "}"#)
            #expect(blank.detailFields == ["name"])

            let long = try await client.send(.post, "/v1/topics", ["id": String(repeating: "a", count: 256), "name": "x"])
            #expect(long.detailFields == ["id"])

            let list = try await client.send(.get, "/v1/topics")
            #expect(list.list("topics").isEmpty)
        }
    }

    @Test func malformedJSONIs400() async throws {
        try await TestApp.run { client, _ in
            for body in ["{", "[1,2]", "\"text\"", "", "{\"id\": \"a\", \"name\": \"\u{FFFD}\"", "nul"] {
                let response = try await client.send(.post, "/v1/topics", body)
                #expect(response.status == .badRequest, "body \(body)")
                #expect(response.errorCode == "invalid_json", "body \(body)")
            }
        }
    }

    @Test func patchRenamesAndKeepsOmittedFields() async throws {
        try await TestApp.run { client, _ in
            let created = try await client.createTopic("orders", name: "Orders")
            let renamed = try await client.send(.patch, "/v1/topics/orders", #"{"topic": {"name": "Renamed"}}"#)
            #expect(renamed.status == .ok)
            #expect(renamed["name"] as? String == "Renamed")
            #expect(renamed["created_at"] as? String == created["created_at"] as? String)
            #expect((renamed["updated_at"] as? String ?? "") > (created["updated_at"] as? String ?? ""))

            let unchanged = try await client.send(.patch, "/v1/topics/orders", "{}")
            #expect(unchanged["name"] as? String == "Renamed")

            let blank = try await client.send(.patch, "/v1/topics/orders", #"{"name": ""}"#)
            #expect(blank.status == .badRequest)
            #expect(blank.detailFields == ["name"])

            // The id is the path's: one in the body is ignored, whatever its type.
            for id in [#""other""#, "12", "null", #""bad id!""#] {
                let withID = try await client.send(.patch, "/v1/topics/orders", #"{"id": \#(id), "name": "Renamed"}"#)
                #expect(withID.status == .ok, "id \(id): \(withID.text)")
                #expect(withID["id"] as? String == "orders")
            }
            try await client.createSubscription("billing", topic: "orders")
            let subscription = try await client.send(.patch, "/v1/subscriptions/billing", #"{"id": 12, "name": "Billing"}"#)
            #expect(subscription.status == .ok, "\(subscription.text)")
            #expect(subscription["id"] as? String == "billing")

            let missing = try await client.send(.patch, "/v1/topics/nope", #"{"name": "x"}"#)
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "topic_does_not_exists")
        }
    }

    @Test func getAndDeleteMissingAre404() async throws {
        try await TestApp.run { client, _ in
            let get = try await client.send(.get, "/v1/topics/nope")
            #expect(get.status == .notFound)
            #expect(get.errorCode == "topic_does_not_exists")
            #expect(get["code"] as? Int == 5)

            let delete = try await client.send(.delete, "/v1/topics/nope")
            #expect(delete.status == .notFound)
            #expect(delete.errorCode == "topic_does_not_exists")
        }
    }

    @Test func deleteAnswersEmptyObject() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            let deleted = try await client.send(.delete, "/v1/topics/orders")
            #expect(deleted.status == .ok)
            #expect(deleted.text == "{}")
            #expect(try await client.send(.get, "/v1/topics/orders").status == .notFound)
        }
    }
}
