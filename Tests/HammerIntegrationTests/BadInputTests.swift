import Foundation
import HTTPTypes
import NIOCore
import PostgresNIO
import Testing

/// Every write endpoint given hostile input answers 4xx with hammer's error body and changes nothing.
@Suite struct BadInputTests {
    static let bodies: [(String, String)] = [
        ("malformed", #"{"id": "#),
        ("not an object", "[1, 2, 3]"),
        (
            "wrong types",
            #"{"id": 12, "topic_id": ["x"], "name": {"a": 1}, "url": true, "content_type": 5, "data": null, "max_delivery_attempts": "many"}"#
        ),
        (
            "huge number",
            #"{"id": "x", "topic_id": "orders", "name": "n", "url": "http://example.com", "max_delivery_attempts": 1e309, "delivery_attempt_delay": 99999999999999999999999, "delivery_attempt_timeout": -1}"#
        ),
        ("huge string id", #"{"id": "\#(String(repeating: "a", count: 100_000))", "topic_id": "orders", "name": "n"}"#),
        ("sql in id", #"{"id": "x'; DROP TABLE topics; --", "topic_id": "orders'--", "name": "n", "content_type": "t", "data": "d"}"#),
        ("path traversal id", #"{"id": "../../etc/passwd", "topic_id": "..", "name": "n"}"#),
        ("empty", ""),
        (
            "NUL characters",
            #"{"id": "nul", "topic_id": "orders", "name": "a\u0000b", "url": "http://example.com", "content_type": "t\u0000", "data": "d", "secret_token": "s\u0000", "max_delivery_attempts": 1, "delivery_attempt_delay": 1, "delivery_attempt_timeout": 1}"#
        ),
        ("wrapper not an object", #"{"topic": [null], "subscription": 1, "message": "x", "name": "n"}"#),
    ]

    @Test func writeEndpointsRejectHostileBodiesAndChangeNothing() async throws {
        try await TestApp.run(environment: ["HAMMER_MAX_MESSAGE_BYTES": "65536"]) { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("billing", topic: "orders")
            let before = try await Self.snapshot(store.client)
            let endpoints: [(HTTPRequest.Method, String)] = [
                (.post, "/v1/topics"), (.post, "/v1/subscriptions"), (.post, "/v1/messages"),
                (.patch, "/v1/topics/orders"), (.patch, "/v1/subscriptions/billing"),
            ]
            for (method, path) in endpoints {
                // PATCH ignores ids in the body, so bodies whose only fault is an id would be valid updates there.
                for (label, body) in Self.bodies where method == .post || !label.contains("id") {
                    let response = try await client.send(method, path, body)
                    #expect((400..<500).contains(Int(response.status.code)), "\(method) \(path) \(label): \(response.status)")
                    #expect(response.errorCode != nil, "\(method) \(path) \(label) has no error body")
                    #expect(!response.text.contains("SQL") && !response.text.contains("PSQL"), "\(label) leaks database text")
                }
                let tooBig = try await client.send(method, path, #"{"name": "\#(String(repeating: "x", count: 70_000))"}"#)
                #expect(tooBig.status == .contentTooLarge, "\(method) \(path)")
                var invalidUTF8 = ByteBuffer(string: #"{"id": "a"#)
                invalidUTF8.writeBytes([0xFF, 0xFE, 0xC3])
                invalidUTF8.writeString(#"", "name": "n"}"#)
                let utf8 = try await client.execute(uri: path, method: method, headers: [.contentType: "application/json"], body: invalidUTF8)
                #expect(utf8.status == .badRequest, "\(method) \(path) invalid UTF-8")
            }
            #expect(try await Self.snapshot(store.client) == before)
        }
    }

    @Test func hostileIdsInPathsAndFiltersAre4xx() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            let before = try await Self.snapshot(store.client)
            for id in ["..%2F..%2Fetc%2Fpasswd", "x'%3B%20DROP%20TABLE%20topics%3B--", "%00", String(repeating: "a", count: 5000), "%FF%FE"] {
                for path in [
                    "/v1/topics/\(id)", "/v1/subscriptions/\(id)", "/v1/messages/\(id)", "/v1/deliveries/\(id)", "/v1/delivery-attempts/\(id)",
                ] {
                    let get = try await client.send(.get, path)
                    #expect(get.status == .notFound, "GET \(path)")
                    if !path.hasPrefix("/v1/deliver") {
                        #expect(try await client.send(.delete, path).status == .notFound, "DELETE \(path)")
                    }
                }
                let filtered = try await client.send(.get, "/v1/deliveries?topic_id=\(id)&message_id=\(id)")
                #expect(filtered.status == .badRequest)
                #expect(filtered.errorCode == "invalid_query")
            }
            #expect(try await Self.snapshot(store.client) == before)
        }
    }

    /// Row counts of every table and the max updated_at: equal snapshots mean nothing changed.
    static func snapshot(_ client: PostgresClient) async throws -> [String] {
        try await client.query(
            """
            SELECT concat_ws(',', (SELECT count(*) FROM topics), (SELECT count(*) FROM subscriptions), (SELECT count(*) FROM messages),
                (SELECT count(*) FROM deliveries), (SELECT max(updated_at) FROM topics), (SELECT max(updated_at) FROM subscriptions),
                (SELECT string_agg(secret_token || url || name, ',') FROM subscriptions))
            """
        ).collect().map { try $0.decode(String.self) }
    }
}
