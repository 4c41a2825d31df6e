import Foundation
import HTTPTypes
import Testing

@Suite struct HTTPSurfaceTests {
    @Test func unknownRoutesAnswerJSON404() async throws {
        try await TestApp.run { client, _ in
            for (method, path) in [(HTTPRequest.Method.get, "/nope"), (.get, "/v1/nothing"), (.get, "/v1/topics/x/y"), (.delete, "/v1")] {
                let response = try await client.send(method, path)
                #expect(response.status == .notFound, "\(method) \(path)")
                #expect(response.errorCode == "not_found", "\(method) \(path)")
                #expect(response.headers[.contentType] == "application/json")
            }
            // A known path with another method: 405 and the methods it has.
            // A literal route wins over a parameter one, as in the router: /v1/messages/batch is not a message id.
            for (method, path, allow) in [
                (HTTPRequest.Method.post, "/v1/deliveries", "GET"), (.put, "/v1/topics/x", "DELETE, GET, PATCH"),
                (.options, "/v1/messages/batch", "POST"), (.get, "/v1/messages/batch", "POST"),
            ] {
                let response = try await client.send(method, path)
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                #expect(response.errorCode == "method_not_allowed")
                #expect(response.headers[.allow] == allow)
            }
        }
    }

    @Test func healthChecks() async throws {
        try await TestApp.run { client, _ in
            let liveness = try await client.send(.get, "/liveness")
            let readiness = try await client.send(.get, "/readiness")
            #expect(liveness.status == .noContent)
            #expect(readiness.status == .noContent)
        }
    }

    @Test func everyResponseHasARequestID() async throws {
        try await TestApp.run { client, _ in
            let first = try await client.send(.get, "/v1/topics")
            let second = try await client.send(.get, "/v1/topics/missing")
            let firstID = try #require(first.headers[HTTPField.Name("X-Request-Id")!])
            let secondID = try #require(second.headers[HTTPField.Name("X-Request-Id")!])
            #expect(firstID != secondID)
        }
    }

    @Test func apiKeysGuardV1Only() async throws {
        try await TestApp.run(environment: ["HAMMER_API_KEYS": "key-one, key-two"]) { client, _ in
            let none = try await client.send(.get, "/v1/topics")
            #expect(none.status == .unauthorized)
            #expect(none.errorCode == "unauthenticated")
            #expect(none["code"] as? Int == 16)
            let wrong = try await client.send(.get, "/v1/topics", headers: [.authorization: "Bearer key-three"])
            #expect(wrong.status == .unauthorized)
            let basic = try await client.send(.get, "/v1/topics", headers: [.authorization: "Basic a2V5LW9uZQ=="])
            #expect(basic.status == .unauthorized)
            let post = try await client.send(.post, "/v1/topics", #"{"id": "x", "name": "x"}"#)
            #expect(post.status == .unauthorized)

            #expect(try await client.send(.get, "/v1/topics", headers: [.authorization: "Bearer key-one"]).status == .ok)
            #expect(try await client.send(.get, "/v1/topics", headers: [.authorization: "bearer key-two"]).status == .ok)
            #expect(try await client.send(.get, "/liveness").status == .noContent)
            #expect(try await client.send(.get, "/readiness").status == .noContent)
            let list = try await client.send(.get, "/v1/topics", headers: [.authorization: "Bearer key-one"])
            #expect(list.list("topics").isEmpty)
        }
    }

    @Test func withoutKeysNoAuthIsNeeded() async throws {
        try await TestApp.run { client, _ in
            let plain = try await client.send(.get, "/v1/topics")
            let withHeader = try await client.send(.get, "/v1/topics", headers: [.authorization: "Bearer anything"])
            #expect(plain.status == .ok)
            #expect(withHeader.status == .ok)
        }
    }
}

@Suite struct MetricsTests {
    @Test func prometheusSeriesMoveWithTraffic() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            try await client.createSubscription("a", topic: "orders")
            try await client.createSubscription("b", topic: "orders")
            try await client.publish(topic: "orders")
            try await client.send(.get, "/v1/topics/missing")
            let metrics = try await client.send(.get, "/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let lines = metrics.text.split(separator: "\n").map(String.init)
            #expect(lines.contains(#"hammer_http_requests_total{route="/v1/topics",method="POST",status="2xx"} 1"#), "\(metrics.text)")
            #expect(lines.contains(#"hammer_http_requests_total{route="/v1/topics/{id}",method="GET",status="4xx"} 1"#), "\(metrics.text)")
            #expect(lines.contains("hammer_messages_published_total 1"))
            #expect(lines.contains("hammer_deliveries_pending 2.0") || lines.contains("hammer_deliveries_pending 2"), "\(metrics.text)")
            #expect(lines.contains { $0.hasPrefix("hammer_deliveries_oldest_pending_age_seconds ") })
            #expect(lines.contains { $0.hasPrefix("hammer_http_request_duration_seconds_bucket{") })
        }
    }
}
