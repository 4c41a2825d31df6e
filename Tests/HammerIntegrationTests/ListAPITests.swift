import Foundation
import PostgresNIO
import Testing

@Suite struct ListAPITests {
    @Test func paginationIsOrderedAndClamped() async throws {
        try await TestApp.run(environment: ["HAMMER_DEFAULT_PAGINATION_LIMIT": "3", "HAMMER_MAX_PAGINATION_LIMIT": "5"]) { client, store in
            for index in 0..<7 { try await client.createTopic("t\(index)") }
            // Same created_at for some rows: ties are broken by id.
            try await store.client.query("UPDATE topics SET created_at = '2024-01-01T00:00:00Z' WHERE id IN ('t5', 't2', 't6')")
            func ids(_ query: String) async throws -> [String] {
                try await client.send(.get, "/v1/topics\(query)").list("topics").compactMap { $0["id"] as? String }
            }
            #expect(try await ids("") == ["t2", "t5", "t6"])
            #expect(try await ids("?limit=100") == ["t2", "t5", "t6", "t0", "t1"])
            #expect(try await ids("?limit=2&offset=2") == ["t6", "t0"])
            #expect(try await ids("?offset=6") == ["t4"])
            #expect(try await ids("?offset=60").isEmpty)
            #expect(try await client.send(.get, "/v1/topics?offset=60").text == #"{"topics":[]}"#)
        }
    }

    @Test func createdAtFilters() async throws {
        try await TestApp.run { client, store in
            for index in 0..<4 { try await client.createTopic("t\(index)") }
            try await store.client.query(
                "UPDATE topics SET created_at = '2024-01-01T00:00:00Z'::timestamptz + make_interval(days => substr(id, 2)::int)"
            )
            func ids(_ query: String) async throws -> [String] {
                try await client.send(.get, "/v1/topics?\(query)").list("topics").compactMap { $0["id"] as? String }
            }
            #expect(try await ids("created_at_gt=2024-01-02T00:00:00Z") == ["t2", "t3"])
            #expect(try await ids("created_at_gte=2024-01-02T00:00:00Z") == ["t1", "t2", "t3"])
            #expect(try await ids("created_at_lt=2024-01-02T00:00:00Z") == ["t0"])
            #expect(try await ids("created_at_lte=2024-01-02T00:00:00.000000Z") == ["t0", "t1"])
            #expect(try await ids("created_at_gte=2024-01-02T03:00:00%2B03:00&created_at_lt=2024-01-04T00:00:00Z") == ["t1", "t2"])
            // A returned created_at used as a bound is exact to the microsecond.
            let t2 = try await client.send(.get, "/v1/topics/t2")["created_at"] as! String
            #expect(try await ids("created_at_gt=\(t2)") == ["t3"])
            #expect(try await ids("created_at_gte=\(t2)") == ["t2", "t3"])
        }
    }

    /// The calendar's ends at any offset: year 1 at +01:00 is 1 BC in UTC and year 9999 at -01:00 is year 10000,
    /// both within what PostgreSQL holds; they are bounds like any other, never a 500.
    @Test func boundsAtTheEndsOfTheCalendar() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("t")
            let cases: [(String, [String])] = [
                ("created_at_gt=0001-01-01T00:00:00%2B01:00", ["t"]), ("created_at_gte=0001-01-01T00:00:00%2B14:00", ["t"]),
                ("created_at_lt=0001-01-01T00:00:00%2B01:00", []), ("created_at_lt=9999-12-31T23:59:59-01:00", ["t"]),
                ("created_at_gt=9999-12-31T23:59:59.999999-23:59", []), ("created_at_lte=0001-01-01T00:00:00Z", []),
                ("created_at_gt=0001-01-01T00:00:00.5-01:00&created_at_lt=9999-12-31T23:59:59Z", ["t"]),
            ]
            for (query, expected) in cases {
                let response = try await client.send(.get, "/v1/topics?\(query)")
                #expect(response.status == .ok, "\(query): \(response.text)")
                #expect(response.list("topics").compactMap { $0["id"] as? String } == expected, "\(query)")
            }
            let yearZero = try await client.send(.get, "/v1/topics?created_at_gt=0000-12-31T23:00:00Z")
            #expect(yearZero.status == .badRequest)
            #expect(yearZero.detailFields == ["created_at_gt"])
        }
    }

    @Test func badQueryParametersAre400() async throws {
        try await TestApp.run { client, _ in
            let cases: [(String, [String])] = [
                ("limit=abc", ["limit"]), ("limit=0", ["limit"]), ("limit=-1", ["limit"]), ("limit=1.5", ["limit"]),
                ("offset=-5", ["offset"]), ("offset=x", ["offset"]),
                ("created_at_gt=yesterday", ["created_at_gt"]), ("created_at_gte=2024-13-01T00:00:00Z", ["created_at_gte"]),
                ("created_at_lt=2024-02-30T00:00:00Z", ["created_at_lt"]), ("created_at_lte=2024-01-01", ["created_at_lte"]),
                ("limit=x&offset=y&created_at_gt=z", ["limit", "offset", "created_at_gt"]),
            ]
            for (query, fields) in cases {
                for path in ["/v1/topics", "/v1/subscriptions", "/v1/messages", "/v1/deliveries", "/v1/delivery-attempts"] {
                    let response = try await client.send(.get, "\(path)?\(query)")
                    #expect(response.status == .badRequest, "\(path)?\(query)")
                    #expect(response.errorCode == "invalid_query", "\(path)?\(query)")
                    #expect(response.detailFields == fields, "\(path)?\(query)")
                }
            }
            let injection = try await client.send(.get, "/v1/subscriptions?topic_id=x'%3B%20DROP%20TABLE%20topics%3B--")
            #expect(injection.status == .badRequest)
            #expect(try await client.send(.get, "/v1/topics").status == .ok)
        }
    }
}

@Suite struct ListQueryEdgeTests {
    @Test func largeOffsetsHugeLimitsAndEmptyFilters() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("a")
            // RFC 3339 allows offsets up to ±23:59; PostgreSQL does not, so bounds are sent in UTC.
            let far = try await client.send(.get, "/v1/topics?created_at_gt=1946-03-08T23:28:18.10-17:45&created_at_lt=2999-01-01T00:00:00%2B19:53")
            #expect(far.status == .ok)
            #expect(far.list("topics").count == 1)
            let huge = try await client.send(.get, "/v1/topics?limit=71474649556597940668071936")
            #expect(huge.status == .ok)
            #expect(huge.list("topics").count == 1)
            let empty = try await client.send(.get, "/v1/subscriptions?topic_id=&created_at_lte=")
            #expect(empty.status == .ok)
        }
    }
}
