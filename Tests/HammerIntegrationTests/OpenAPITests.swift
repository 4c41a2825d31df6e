import Foundation
import Logging
import PostgresNIO
import Testing

@testable import Hammer

/// The served OpenAPI document matches the router and real responses.
@Suite struct OpenAPITests {
    @Test func documentCoversExactlyTheRouterRoutes() async throws {
        try await TestApp.run { client, _ in
            let served = try await client.send(.get, "/openapi.json")
            #expect(served.status == .ok)
            #expect(served["openapi"] as? String == "3.1.0")
            let paths = try #require(served["paths"] as? [String: [String: Any]])
            var documented = Set<String>()
            for (path, item) in paths {
                for method in item.keys where ["get", "post", "patch", "delete", "put"].contains(method) {
                    documented.insert("\(method.uppercased()) \(path)")
                }
            }
            let config = try Config(environment: ["HAMMER_DATABASE_URL": "postgres://u@127.0.0.1:1/d"])
            let pool = PostgresClient(configuration: config.database.clientConfiguration(maxConnections: 1), backgroundLogger: TestDatabase.logger)
            let store = Store(client: pool, logger: TestDatabase.logger)
            let metrics = HammerMetrics()
            let publisher = PublishBatcher(store: store, metrics: metrics)
            let router = buildRouter(
                config: config,
                operations: ResourceOperations(config: config, store: store, publisher: publisher),
                metrics: metrics
            )
            // The console's HTML pages are not part of the REST API.
            let routed = Set(router.routes.filter { !"\($0.path)".hasPrefix("/ui") }.map { "\($0.method) \($0.path)" })
            #expect(routed == documented, "only routed: \(routed.subtracting(documented)); only documented: \(documented.subtracting(routed))")
        }
    }

    @Test func realResponsesMatchTheSchemas() async throws {
        try await TestApp.run { client, store in
            let document = try #require(try await client.send(.get, "/openapi.json").object as [String: Any]?)
            let validator = SchemaValidator(document: document)
            let topic = try await client.createTopic("orders")
            let subscription = try await client.createSubscription("billing", topic: "orders")
            let message = try await client.publish(topic: "orders")
            let delivery = try #require(try await client.send(.get, "/v1/deliveries").list("deliveries").first)
            let attemptID = ULID.make()
            try await store.client.query(
                """
                INSERT INTO delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success)
                SELECT \(attemptID), id, 'POST / HTTP/1.1', 'HTTP/1.1 200 OK', 200, 3, true FROM deliveries
                """
            )
            let callbackID = ULID.make()
            try await store.client.query(
                """
                INSERT INTO callbacks (id, subscription_id, type, url, body) VALUES (\(callbackID), 'billing', 'subscription.disabled', 'https://example.com/cb', '{}')
                """
            )
            try await store.client.query(
                """
                INSERT INTO callback_attempts (id, callback_id, request, response, response_status_code, execution_duration, success)
                VALUES (hammer_ulid(), \(callbackID), 'POST / HTTP/1.1', 'HTTP/1.1 200 OK', 200, 3, true)
                """
            )
            @Sendable func redeliverFailed(_ id: String) async throws -> Any? {
                try await store.client.markDeliveries(id: id)
                return try await client.send(.post, "/v1/deliveries/\(id)/redeliver").json
            }
            let cases: [(String, Any?)] = [
                ("Topic", topic.json), ("Subscription", subscription.json), ("Message", message.json), ("Delivery", delivery),
                ("DeliveryAttempt", try await client.send(.get, "/v1/delivery-attempts/\(attemptID)").json),
                ("TopicList", try await client.send(.get, "/v1/topics").json),
                ("SubscriptionList", try await client.send(.get, "/v1/subscriptions").json),
                ("MessageList", try await client.send(.get, "/v1/messages").json),
                ("DeliveryList", try await client.send(.get, "/v1/deliveries").json),
                ("DeliveryAttemptList", try await client.send(.get, "/v1/delivery-attempts").json),
                ("Error", try await client.send(.get, "/v1/topics/missing").json),
                ("Error", try await client.send(.post, "/v1/topics", "{}").json),
                ("Error", try await client.send(.post, "/v1/deliveries/\(delivery["id"] as! String)/redeliver").json),
                ("SubscriptionTest", try await client.send(.post, "/v1/subscriptions/billing/test").json),
                ("Subscription", try await client.send(.post, "/v1/subscriptions/billing/disable").json),
                ("Subscription", try await client.send(.post, "/v1/subscriptions/billing/enable").json),
                ("Subscription", try await client.send(.post, "/v1/subscriptions/billing/rotate-secret").json),
                ("Callback", try await client.send(.get, "/v1/callbacks/\(callbackID)").json),
                ("CallbackList", try await client.send(.get, "/v1/callbacks").json),
                ("Delivery", try await redeliverFailed(delivery["id"] as! String)),
                ("Empty", try await client.send(.delete, "/v1/messages/\(message["id"] as! String)").json),
            ]
            for (schema, value) in cases {
                let problems = validator.check(value as Any, against: ["$ref": "#/components/schemas/\(schema)"], at: schema)
                #expect(problems.isEmpty, "\(schema): \(problems)")
            }
        }
    }
}

/// Enough of JSON Schema for hammer's document: $ref, type, properties, required, items, enum, oneOf, maxProperties.
struct SchemaValidator {
    let document: [String: Any]

    func check(_ value: Any, against schema: [String: Any], at path: String) -> [String] {
        if let ref = schema["$ref"] as? String {
            let name = ref.split(separator: "/").last.map(String.init) ?? ""
            let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any]
            guard let target = schemas?[name] as? [String: Any] else { return ["\(path): unresolved \(ref)"] }
            return check(value, against: target, at: path)
        }
        if let options = schema["oneOf"] as? [[String: Any]] {
            return options.contains { check(value, against: $0, at: path).isEmpty } ? [] : ["\(path): matches no oneOf option"]
        }
        var problems: [String] = []
        switch schema["type"] as? String {
        case "object":
            guard let object = value as? [String: Any] else { return ["\(path): not an object"] }
            let properties = schema["properties"] as? [String: [String: Any]] ?? [:]
            for key in schema["required"] as? [String] ?? [] where object[key] == nil { problems.append("\(path).\(key): missing") }
            for (key, item) in object {
                guard let property = properties[key] else {
                    problems.append("\(path).\(key): not in the schema")
                    continue
                }
                problems += check(item, against: property, at: "\(path).\(key)")
            }
            if let max = schema["maxProperties"] as? Int, object.count > max { problems.append("\(path): more than \(max) properties") }
        case "array":
            guard let array = value as? [Any] else { return ["\(path): not an array"] }
            for (index, item) in array.enumerated() {
                problems += check(item, against: schema["items"] as? [String: Any] ?? [:], at: "\(path)[\(index)]")
            }
        case "string":
            guard let string = value as? String else { return ["\(path): not a string"] }
            if let values = schema["enum"] as? [String], !values.contains(string) { problems.append("\(path): \(string) not in enum") }
        case "integer":
            if !(value is Int) { problems.append("\(path): not an integer") }
        case "boolean":
            if !(value is Bool) { problems.append("\(path): not a boolean") }
        default:
            break
        }
        return problems
    }
}
