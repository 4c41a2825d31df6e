import Foundation
import HTTPTypes
import Hammer
import HummingbirdTesting
import Testing

/// The web console's HTTP surface: pages, sessions, CSRF. `make test-ui` drives the same pages in chromium.
@Suite struct ConsoleTests {
    static let cookie = HTTPField.Name("Cookie")!
    static let setCookie = HTTPField.Name("Set-Cookie")!

    @Test func pagesRenderTheStoreAndUnknownIdsAre404Pages() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("hook", topic: "orders")
            let message = try #require(try await client.publish(topic: "orders")["id"] as? String)
            let delivery = try #require(try await client.send(.get, "/v1/deliveries").list("deliveries").first?["id"] as? String)
            try await store.client.markDeliveries(attempts: 1, id: delivery)

            for path in [
                "/ui", "/ui/topics", "/ui/subscriptions", "/ui/messages", "/ui/deliveries", "/ui/messages/\(message)", "/ui/deliveries/\(delivery)",
            ] {
                let page = try await client.send(.get, path)
                #expect(page.status == .ok, "\(path)")
                #expect(page.headers[.contentType] == "text/html; charset=utf-8", "\(path)")
                #expect(page.text.contains("<h1>"), "\(path)")
            }
            let overview = try await client.send(.get, "/ui").text
            #expect(overview.contains(#"<span class="count" id="count-failed">1</span>"#))
            let failed = try await client.send(.get, "/ui/deliveries?status=failed").text
            #expect(failed.contains(delivery))
            #expect(!(try await client.send(.get, "/ui/deliveries?status=completed").text.contains(delivery)))
            #expect(try await client.send(.get, "/ui/deliveries?status=done").text.contains("status must be one of pending, completed, failed"))
            #expect(!(try await client.send(.get, "/ui/subscriptions").text.contains("whsec_")))

            let missing = try await client.send(.get, "/ui/deliveries/nope")
            #expect(missing.status == .notFound)
            #expect(missing.text.contains("delivery &quot;nope&quot; does not exist"))
        }
    }

    @Test func aQuoteWithACombiningMarkIsEscapedLikeAnyQuote() async throws {
        try await TestApp.run { client, _ in
            // Byte by byte: a raw quote followed by U+0301 (what per-character escaping let through).
            func hasRawQuoteWithMark(_ html: String) -> Bool {
                let bytes = Array(html.utf8)
                return bytes.indices.dropLast(2).contains { bytes[$0] == 0x22 && bytes[$0 + 1] == 0xCC && bytes[$0 + 2] == 0x81 }
            }
            let hostile = "x\"\u{301} autofocus onfocus=alert(1) x=\"\u{301}<b>'\u{301}&\u{301}"
            try await client.createTopic("orders", name: hostile)
            let topics = try await client.send(.get, "/ui/topics").text
            #expect(topics.contains("x&quot;\u{301} autofocus onfocus=alert(1) x=&quot;\u{301}"))
            #expect(topics.contains("&lt;b&gt;&#39;\u{301}&amp;\u{301}"))
            #expect(!hasRawQuoteWithMark(topics))
            // A filter is written back into its input's value attribute.
            let filtered = try await client.send(.get, "/ui/deliveries?topic_id=%22%CC%81%20onfocus%3Dalert(1)").text
            #expect(!hasRawQuoteWithMark(filtered))
        }
    }

    @Test func aDeliveryPageShowsAPageOfAttemptsWithTheirDumpsCut() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("hook", topic: "orders")
            try await client.publish(topic: "orders")
            let delivery = try #require(try await client.send(.get, "/v1/deliveries").list("deliveries").first?["id"] as? String)
            // Twelve recorded attempts of 1 MiB of request each, as a receiver that always fails leaves them.
            try await store.client.query(
                """
                INSERT INTO delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, error, error_kind)
                SELECT substr(\(delivery), 1, 10) || lpad(n::text, 16, '0'), \(delivery), 'POST /hook HTTP/1.1\r\n\r\n' || repeat('x', 1048576),
                    'HTTP/1.1 500 Internal Server Error\r\n\r\n', 500, 5, false, 'status 500', 'http_status'
                FROM generate_series(1, 12) AS n
                """
            )
            let first = try await client.send(.get, "/ui/deliveries/\(delivery)")
            #expect(first.status == .ok)
            #expect(first.text.components(separatedBy: "<section class=\"attempt").count - 1 == 10)
            #expect(first.text.contains("href=\"/ui/deliveries/\(delivery)?offset=10\" rel=\"next\""))
            #expect(first.text.contains("the first 65536 characters of each dump"))
            #expect(first.text.utf8.count < 2 * 1_048_576, "\(first.text.utf8.count) bytes")
            let second = try await client.send(.get, "/ui/deliveries/\(delivery)?offset=10").text
            #expect(second.components(separatedBy: "<section class=\"attempt").count - 1 == 2)
            #expect(second.contains("id=\"attempt-\(delivery.prefix(10))0000000000000012\"") && second.contains("#12 "))
        }
    }

    @Test func aRebuiltBodyIsCutLikeAStoredOne() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("hook", topic: "orders", extra: ["payload_format": "raw"])
            try await client.publish(topic: "orders", data: String(repeating: "y", count: 200_000), contentType: "text/plain")
            let delivery = try #require(try await client.send(.get, "/v1/deliveries").list("deliveries").first?["id"] as? String)
            // Twelve attempts recorded as a worker records raw ones: the line and headers, the body left to the message.
            try await store.client.query(
                """
                INSERT INTO delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, error,
                    error_kind, request_body)
                SELECT substr(\(delivery), 1, 10) || lpad(n::text, 16, '0'), \(delivery), 'POST /hook HTTP/1.1\r\n\r\n',
                    'HTTP/1.1 500 Internal Server Error\r\n\r\n', 500, 5, false, 'status 500', 'http_status', 2
                FROM generate_series(1, 12) AS n
                """
            )
            let page = try await client.send(.get, "/ui/deliveries/\(delivery)")
            #expect(page.status == .ok)
            #expect(page.text.components(separatedBy: "<section class=\"attempt").count - 1 == 10)
            #expect(page.text.contains("the first 65536 characters of each dump"))
            #expect(page.text.contains(String(repeating: "y", count: 65_000)))
            #expect(page.text.utf8.count < 1_048_576, "\(page.text.utf8.count) bytes")
            let whole = try await client.send(.get, "/v1/delivery-attempts/\(delivery.prefix(10))0000000000000001").decode(Wire.DeliveryAttempt.self)
            #expect(whole.request == "POST /hook HTTP/1.1\r\n\r\n" + String(repeating: "y", count: 200_000))
        }
    }

    @Test func formsNeedTheCSRFTokenAndRedeliverAsTheAPIDoes() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("hook", topic: "orders")
            try await client.publish(topic: "orders")
            let delivery = try #require(try await client.send(.get, "/v1/deliveries").list("deliveries").first?["id"] as? String)
            try await store.client.markDeliveries(attempts: 3, id: delivery)

            let page = try await client.send(.get, "/ui/deliveries/\(delivery)")
            let csrf = try #require(Self.cookieValue(page, "hammer_csrf"))
            #expect(page.text.contains(#"name="csrf" value="\#(csrf)""#))
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded", Self.cookie: "hammer_csrf=\(csrf)"]

            let forged = try await client.send(.post, "/ui/deliveries/\(delivery)/redeliver", "csrf=guess", headers: form)
            #expect(forged.status == .forbidden)
            #expect(try await store.delivery(id: delivery).status == .failed)

            let done = try await client.send(.post, "/ui/deliveries/\(delivery)/redeliver", "csrf=\(csrf)", headers: form)
            #expect(done.status == .seeOther)
            #expect(done.headers[.location] == "/ui/deliveries/\(delivery)")
            #expect(try await store.delivery(id: delivery).status == .pending)
            let again = try await client.send(.post, "/ui/deliveries/\(delivery)/redeliver", "csrf=\(csrf)", headers: form)
            #expect(again.status == .conflict)

            let disabled = try await client.send(.post, "/ui/subscriptions/hook/disable", "csrf=\(csrf)", headers: form)
            #expect(disabled.status == .seeOther)
            #expect(try await store.subscription(id: "hook").status == .disabled)
        }
    }

    @Test func withAPIKeysPagesNeedASignedSessionCookie() async throws {
        try await TestApp.run(environment: ["HAMMER_API_KEYS": "k1,k2"]) { client, _ in
            let anonymous = try await client.send(.get, "/ui/deliveries")
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location] == "/ui/login")
            let loginPage = try await client.send(.get, "/ui/login")
            let csrf = try #require(Self.cookieValue(loginPage, "hammer_csrf"))
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded", Self.cookie: "hammer_csrf=\(csrf)"]

            #expect(try await client.send(.post, "/ui/login", "csrf=\(csrf)&key=k3", headers: form).status == .unauthorized)
            #expect(try await client.send(.post, "/ui/login", "key=k2", headers: form).status == .forbidden)
            let login = try await client.send(.post, "/ui/login", "csrf=\(csrf)&key=k2", headers: form)
            #expect(login.status == .seeOther)
            let header = try #require(login.headers[values: Self.setCookie].first { $0.hasPrefix("hammer_session=") })
            #expect(header.contains("HttpOnly") && header.contains("SameSite=Strict") && header.contains("Path=/ui"))
            #expect(!header.contains("k2") && !header.contains("Secure"))
            // Behind a proxy that says the request came over https, every cookie is Secure.
            var overHTTPS = form
            overHTTPS[HTTPField.Name("X-Forwarded-Proto")!] = "https"
            let secureLogin = try await client.send(.post, "/ui/login", "csrf=\(csrf)&key=k2", headers: overHTTPS)
            #expect(secureLogin.status == .seeOther)
            let secureCookies = secureLogin.headers[values: Self.setCookie]
            #expect(secureCookies.contains { $0.hasPrefix("hammer_session=") } && secureCookies.allSatisfy { $0.contains("; Secure") })
            let securePage = try await client.send(.get, "/ui/login", headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(securePage.headers[values: Self.setCookie].contains { $0.hasPrefix("hammer_csrf=") && $0.contains("; Secure") })
            let session = try #require(Self.cookieValue(login, "hammer_session"))

            let signedIn = try await client.send(.get, "/ui/deliveries", headers: [Self.cookie: "hammer_session=\(session)"])
            #expect(signedIn.status == .ok)
            var tampered = session
            tampered.removeLast()
            tampered += session.hasSuffix("A") ? "B" : "A"
            #expect(try await client.send(.get, "/ui", headers: [Self.cookie: "hammer_session=\(tampered)"]).status == .seeOther)
            // The REST API still wants its bearer key: the console's cookie is not an API credential.
            #expect(try await client.send(.get, "/v1/topics", headers: [Self.cookie: "hammer_session=\(session)"]).status == .unauthorized)
        }
    }

    @Test func theChartCountsWhatWorkersRecorded() async throws {
        let receiver = try await WebhookReceiver.start { number in number == 1 ? .init(status: .internalServerError) : .init() }
        defer { receiver.stop() }
        try await TestApp.run { client, _, url in
            try await client.createTopic("orders")
            try await client.createSubscription("hook", topic: "orders", url: receiver.url, extra: ["max_delivery_attempts": 1])
            let worker = try TestWorker.start(url)
            for _ in 0..<3 { try await client.publish(topic: "orders") }
            try await eventually("three finished deliveries") {
                try await client.send(.get, "/v1/deliveries?status=pending").list("deliveries").isEmpty
            }
            try await worker.stop()
            let overview = try await client.send(.get, "/ui").text
            #expect(overview.contains("last hour: 2 succeeded, 1 failed"))
            #expect(overview.contains(#"id="count-completed">2<"#) && overview.contains(#"id="count-failed">1<"#))
        }
    }

    static func cookieValue(_ response: TestResponse, _ name: String) -> String? {
        for header in response.headers[values: setCookie] where header.hasPrefix(name + "=") {
            return String(header.dropFirst(name.count + 1).prefix { $0 != ";" })
        }
        return nil
    }
}
