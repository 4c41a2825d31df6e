import Foundation
import HTTPTypes
import Hammer
import HummingbirdTesting
import PostgresNIO
import Testing

/// Subscription delivery options (docs/delivery-options.md) through the HTTP API, delivered by a real worker to a real receiver.
@Suite struct DeliveryOptionsTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// The app, a worker on its database and a receiver; topic `orders` exists.
    private func scenario(
        replies: WebhookReceiver.Replies = .always(.init()),
        _ body: @escaping @Sendable (any TestClientProtocol, WebhookReceiver) async throws -> Void
    ) async throws {
        let receiver = try await WebhookReceiver.start(reply: replies.reply)
        defer { receiver.stop() }
        try await TestApp.run { client, _, url in
            let worker = try TestWorker.start(url)
            try await client.createTopic("orders")
            do {
                try await body(client, receiver)
            } catch {
                try await worker.stop()
                throw error
            }
            try await worker.stop()
        }
    }

    @discardableResult
    private func subscribe(
        _ client: any TestClientProtocol,
        _ id: String = "hook",
        url: String,
        _ options: [String: Any]
    ) async throws -> TestResponse {
        let created = try await client.createSubscription(
            id,
            topic: "orders",
            url: url,
            extra: options.merging(["secret_token": Self.secret]) { a, _ in a }
        )
        #expect(created.status == .ok, "\(created.text)")
        return created
    }

    private func received(_ receiver: WebhookReceiver, count: Int = 1) async throws -> [WebhookReceiver.Received] {
        try await eventually("\(count) request(s) at the receiver") { await receiver.log.count >= count }
        return await receiver.log.requests
    }

    @Test(arguments: ["POST", "PUT", "PATCH"])
    func eachMethodArrives(method: String) async throws {
        try await scenario { client, receiver in
            try await subscribe(client, url: receiver.url, ["http_method": method])
            try await client.publish(topic: "orders")
            let request = try #require(try await received(receiver).first)
            #expect(request.method.rawValue == method)
            #expect(try StandardWebhooksVerifier.verifies(request, secret: Self.secret))
        }
    }

    @Test func headersAndAuthArriveAndOnlySingleReadsShowThem() async throws {
        try await scenario { client, receiver in
            let headers = ["X-Team": "billing", "X-Api-Key": "key-123"]
            let created = try await subscribe(client, url: receiver.url, ["headers": headers, "auth": ["type": "bearer", "token": "tok-456"]])
            #expect(created["headers"] as? [String: String] == headers)
            try await subscribe(client, "basic", url: receiver.url, ["auth": ["type": "basic", "username": "ann", "password": "p:w"]])
            try await client.publish(topic: "orders")
            let requests = try await received(receiver, count: 2)
            let bearer = try #require(requests.first { $0.header("X-Team") != nil })
            #expect(bearer.header("X-Team") == "billing")
            #expect(bearer.header("X-Api-Key") == "key-123")
            #expect(bearer.header("Authorization") == "Bearer tok-456")
            let basic = try #require(requests.first { $0.header("X-Team") == nil })
            #expect(basic.header("Authorization") == "Basic " + Data("ann:p:w".utf8).base64EncodedString())

            let single = try await client.send(.get, "/v1/subscriptions/hook")
            #expect((single["auth"] as? [String: String]) == ["type": "bearer", "token": "tok-456"])
            #expect(single["headers"] as? [String: String] == headers)
            let list = try await client.send(.get, "/v1/subscriptions")
            #expect(list.list("subscriptions").count == 2)
            for listed in list.list("subscriptions") {
                #expect(listed["auth"] == nil && listed["headers"] == nil && listed["secret_token"] == nil)
            }
            #expect(!list.text.contains("tok-456") && !list.text.contains("key-123") && !list.text.contains("p:w"))

            // The attempt record keeps the request without the credentials.
            try await eventually("both attempts recorded") {
                try await client.send(.get, "/v1/delivery-attempts").list("delivery_attempts").count == 2
            }
            let attempts = try await client.send(.get, "/v1/delivery-attempts")
            #expect(attempts.text.contains("Authorization: [redacted]"))
            #expect(attempts.text.contains("X-Api-Key: [redacted]"))
            #expect(!attempts.text.contains("tok-456") && !attempts.text.contains("key-123"))
            #expect(!attempts.text.contains(Data("ann:p:w".utf8).base64EncodedString()))
        }
    }

    @Test func refusedHeadersAndAuthEachGetADetailAndCreateNothing() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            let refused = [
                "Host", "content-length", "Content-Type", "Transfer-Encoding", "connection", "Authorization", "Webhook-Id", "webhook-anything",
            ]
            for name in refused {
                let answer = try await client.createSubscription("bad", topic: "orders", extra: ["headers": [name: "x"]])
                #expect(answer.status == .badRequest)
                #expect(answer.detailFields == ["headers.\(name)"], "\(name)")
            }
            let values = try await client.createSubscription(
                "bad",
                topic: "orders",
                extra: ["headers": ["X-Split": "a\r\nInjected: yes", "X-Null": "a\u{1}b", "Bad Name": "v", "X-Ok": "fine"]]
            )
            #expect(Set(values.detailFields) == ["headers.X-Split", "headers.X-Null", "headers.Bad Name"])
            #expect(!values.text.contains("Injected"))
            let many = try await client.createSubscription(
                "bad",
                topic: "orders",
                extra: ["headers": Dictionary(uniqueKeysWithValues: (0..<33).map { ("X-\($0)", "v") })]
            )
            #expect(many.detailFields == ["headers"])
            let twice = try await client.createSubscription("bad", topic: "orders", extra: ["headers": ["X-A": "1", "x-a": "2"]])
            #expect(twice.detailFields.count == 1)

            let auth = try await client.createSubscription(
                "bad",
                topic: "orders",
                extra: ["auth": ["type": "digest"], "http_method": "GET", "payload_format": "xml", "event_types": ["ok", "in*valid", 3]]
            )
            #expect(auth.detailFields == ["http_method", "auth.type", "payload_format", "event_types[2]", "event_types[1]"])
            let bearer = try await client.createSubscription("bad", topic: "orders", extra: ["auth": ["type": "bearer", "token": "a\nb"]])
            #expect(bearer.detailFields == ["auth.token"])
            let noPassword = try await client.createSubscription("bad", topic: "orders", extra: ["auth": ["type": "basic", "username": "a"]])
            #expect(noPassword.detailFields == ["auth.password"])
            let colon = try await client.createSubscription(
                "bad",
                topic: "orders",
                extra: ["auth": ["type": "basic", "username": "a:b", "password": ""]]
            )
            #expect(colon.detailFields == ["auth.username"])
            #expect(try await client.send(.get, "/v1/subscriptions").list("subscriptions").isEmpty)
        }
    }

    @Test func rawBytesAndContentTypeArriveUnchanged() async throws {
        try await scenario { client, receiver in
            try await subscribe(client, url: receiver.url, ["payload_format": "raw"])
            let data = "id,name\n1,\"Zoë \\ 😀\"\n"
            try await client.publish(topic: "orders", data: data, contentType: "text/csv; charset=utf-8")
            let request = try #require(try await received(receiver).first)
            #expect(request.body == Data(data.utf8))
            #expect(request.header("Content-Type") == "text/csv; charset=utf-8")
            #expect(try StandardWebhooksVerifier.verifies(request, secret: Self.secret))
        }
    }

    @Test func templateRendersNestedKeysIndexesEscapesNumbersAndMissingPaths() async throws {
        try await scenario { client, receiver in
            let template = """
                {"id": "{{ message.id }}", "customer": "{{ message.data.customer.name }}", "first": "{{message.data.items.0.sku}}", \
                "total": {{ message.data.total }}, "missing": {{ message.data.nope }}, "type": "{{ message.event_type }}", \
                "attempt": {{ attempt }}, "delivery": "{{ delivery.id }}", "tags": {{ message.data.tags }}}
                """
            try await subscribe(client, url: receiver.url, ["payload_format": "template", "payload_template": template])
            let data = #"{"customer": {"name": "Ann \"The\" O\\Neil"}, "items": [{"sku": "A-1"}], "total": 12.50, "tags": ["x", "y"]}"#
            let published = try await client.send(
                .post,
                "/v1/messages",
                ["topic_id": "orders", "data": data, "event_type": "order.created"]
            )
            let request = try #require(try await received(receiver).first)
            let deliveryID = try #require(request.header("webhook-id"))
            let expected = """
                {"id": "\(published["id"] as! String)", "customer": "Ann \\"The\\" O\\\\Neil", "first": "A-1", \
                "total": 12.50, "missing": null, "type": "order.created", \
                "attempt": 1, "delivery": "\(deliveryID)", "tags": ["x", "y"]}
                """
            #expect(String(decoding: request.body, as: UTF8.self) == expected)
            #expect(request.header("Content-Type") == "application/json")
            let parsed = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
            #expect(parsed["customer"] as? String == #"Ann "The" O\Neil"#)
            #expect(try StandardWebhooksVerifier.verifies(request, secret: Self.secret))
        }
    }

    @Test func aTextTemplateInsertsStringsRawAndMissingAsNothing() async throws {
        try await scenario { client, receiver in
            try await subscribe(
                client,
                url: receiver.url,
                [
                    "payload_format": "template", "payload_content_type": "text/plain",
                    "payload_template": "order {{message.data.id}} by {{message.data.who}}{{message.data.nope}}!",
                ]
            )
            try await client.publish(topic: "orders", data: #"{"id": 7, "who": "Ann \"A\""}"#)
            let request = try #require(try await received(receiver).first)
            #expect(String(decoding: request.body, as: UTF8.self) == #"order 7 by Ann "A"!"#)
            #expect(request.header("Content-Type") == "text/plain")
            #expect(try StandardWebhooksVerifier.verifies(request, secret: Self.secret))
        }
    }

    @Test func aTemplateRenderingPastTheCapFailsItsAttemptAndSendsNothing() async throws {
        try await scenario { client, receiver in
            // 2,000 copies of 512 KiB would render 1 GiB; the cap (twice HAMMER_MAX_MESSAGE_BYTES) stops it at 2 MiB.
            try await subscribe(
                client,
                "huge",
                url: receiver.url,
                [
                    "payload_format": "template", "payload_content_type": "text/plain", "max_delivery_attempts": 1,
                    "payload_template": String(repeating: "{{message.data}}", count: 2000),
                ]
            )
            try await subscribe(client, "plain", url: receiver.url, [:])
            let published = try await client.publish(topic: "orders", data: String(repeating: "x", count: 512 * 1024), contentType: "text/plain")
            #expect(published.status == .ok)
            var failedID: String?
            try await eventually("the capped delivery to fail") {
                let list = try await client.send(.get, "/v1/deliveries?subscription_id=huge&status=failed").list("deliveries")
                failedID = list.first?["id"] as? String
                return failedID != nil
            }
            let attempts = try await client.send(.get, "/v1/delivery-attempts?delivery_id=\(failedID ?? "")").list("delivery_attempts")
            #expect(attempts.count == 1)
            #expect(attempts.first?["error_kind"] as? String == "payload_too_large")
            #expect((attempts.first?["error"] as? String)?.contains("longer than 2097152 bytes") == true)
            // The worker lives on: the other subscription's delivery arrives, and the capped one never did.
            let requests = try await received(receiver)
            #expect(requests.count == 1 && requests[0].header("Content-Type") == "application/json")
        }
    }

    @Test func templatesAreCheckedWhenSaved() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            let notJSON = try await client.createSubscription(
                "t",
                topic: "orders",
                extra: ["payload_format": "template", "payload_template": #"{"id": {{ message.id }}}"#]
            )
            #expect(notJSON.detailFields == ["payload_template"])
            #expect(notJSON.text.contains("valid JSON"))
            let unknownRoot = try await client.createSubscription(
                "t",
                topic: "orders",
                extra: ["payload_format": "template", "payload_template": #"{"id": "{{ order.id }}"}"#]
            )
            #expect(unknownRoot.detailFields == ["payload_template"])
            #expect(unknownRoot.text.contains("unknown root"))
            let missing = try await client.createSubscription("t", topic: "orders", extra: ["payload_format": "template"])
            #expect(missing.detailFields == ["payload_template"])

            // A PATCH is checked against the stored fields it leaves as they are.
            try await client.createSubscription("t", topic: "orders", extra: ["payload_template": #"{"id": "{{message.id}}"}"#])
            #expect(try await client.send(.patch, "/v1/subscriptions/t", #"{"payload_format": "template"}"#).status == .ok)
            let patched = try await client.send(.patch, "/v1/subscriptions/t", #"{"payload_template": "id={{message.id}}"}"#)
            #expect(patched.detailFields == ["payload_template"])
            let asText = try await client.send(
                .patch,
                "/v1/subscriptions/t",
                #"{"payload_template": "id={{message.id}}", "payload_content_type": "text/plain"}"#
            )
            #expect(asText.status == .ok)
            #expect(asText["payload_template"] as? String == "id={{message.id}}")
            let backToJSON = try await client.send(.patch, "/v1/subscriptions/t", #"{"payload_content_type": null}"#)
            #expect(backToJSON.detailFields == ["payload_template"])
        }
    }

    @Test func eventTypesFilterExactlyByPrefixAndStar() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            let filters: [String: [String]] = [
                "exact": ["invoice.paid"], "prefix": ["invoice.*"], "star": ["*"], "unfiltered": [], "two": ["order.created", "invoice.paid.v2"],
            ]
            for (id, types) in filters { try await client.createSubscription(id, topic: "orders", extra: ["event_types": types]) }
            let expected: [String?: Set<String>] = [
                "invoice.paid": ["exact", "prefix", "star", "unfiltered"],
                "invoice.paid.v2": ["prefix", "star", "unfiltered", "two"],
                "invoice": ["star", "unfiltered"],
                "invoicex.paid": ["star", "unfiltered"],
                "order.created": ["star", "unfiltered", "two"],
                nil: ["unfiltered"],
            ]
            for (eventType, subscribers) in expected {
                var body: [String: Any] = ["topic_id": "orders", "data": "{}"]
                if let eventType { body["event_type"] = eventType }
                let message = try await client.send(.post, "/v1/messages", body)
                #expect(message["event_type"] as? String == eventType)
                let deliveries = try await client.send(.get, "/v1/deliveries?message_id=\(message["id"] as! String)").list("deliveries")
                #expect(Set(deliveries.compactMap { $0["subscription_id"] as? String }) == subscribers, "\(eventType ?? "none")")
                #expect(deliveries.allSatisfy { $0["event_type"] as? String == eventType })
            }
            let bad = try await client.send(.post, "/v1/messages", ["topic_id": "orders", "data": "{}", "event_type": "has space"])
            #expect(bad.detailFields == ["event_type"])
        }
    }

    @Test func theEventTypeIsTheCloudEventsType() async throws {
        try await scenario { client, receiver in
            try await subscribe(client, url: receiver.url, [:])
            try await client.send(.post, "/v1/messages", ["topic_id": "orders", "data": "{}", "event_type": "invoice.paid"])
            let request = try #require(try await received(receiver).first)
            #expect(request.json["type"] as? String == "invoice.paid")
            #expect(try StandardWebhooksVerifier.verifies(request, secret: Self.secret))
        }
    }

    @Test func rotationSignsWithBothSecretsUntilTheGracePeriodEnds() async throws {
        let newSecret = "whsec_" + Data(repeating: 7, count: 32).base64EncodedString()
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestApp.run { client, store, url in
            let worker = try TestWorker.start(url)
            try await client.createTopic("orders")
            try await subscribe(client, url: receiver.url, [:])
            let rotated = try await client.send(.post, "/v1/subscriptions/hook/rotate-secret", ["secret_token": newSecret, "grace_period": 3600])
            #expect(rotated["secret_token"] as? String == newSecret)
            let expires = try #require((rotated["previous_secret_expires_at"] as? String).flatMap { Timestamp.parse($0)?.date })
            #expect(abs(expires.timeIntervalSinceNow - 3600) < 60)

            try await client.publish(topic: "orders")
            let during = try #require(try await received(receiver).first)
            #expect(during.header("webhook-signature")?.split(separator: " ").count == 2)
            #expect(try StandardWebhooksVerifier.verifies(during, secret: newSecret))
            #expect(try StandardWebhooksVerifier.verifies(during, secret: Self.secret))

            // The grace period ends (moved into the past rather than waited for).
            try await store.client.endSecretGracePeriods()
            try await client.publish(topic: "orders")
            let after = try #require(try await received(receiver, count: 2).last)
            #expect(after.header("webhook-signature")?.split(separator: " ").count == 1)
            #expect(try StandardWebhooksVerifier.verifies(after, secret: newSecret))
            #expect(try !StandardWebhooksVerifier.verifies(after, secret: Self.secret))

            let generated = try await client.send(.post, "/v1/subscriptions/hook/rotate-secret")
            #expect((generated["secret_token"] as? String)?.hasPrefix("whsec_") == true)
            #expect(generated["secret_token"] as? String != newSecret)
            let bad = try await client.send(.post, "/v1/subscriptions/hook/rotate-secret", ["grace_period": 604_801, "secret_token": "whsec_!"])
            #expect(bad.detailFields == ["secret_token", "grace_period"])
            #expect(try await client.send(.post, "/v1/subscriptions/nope/rotate-secret").status == .notFound)
            try await worker.stop()
        }
    }

    @Test func aPatchedURLReceivesTheRetryOfADeliveryThatFailedBeforeThePatch() async throws {
        let old = try await WebhookReceiver.start { _ in .init(status: .internalServerError) }
        defer { old.stop() }
        let new = try await WebhookReceiver.start()
        defer { new.stop() }
        try await TestApp.run { client, _, url in
            let worker = try TestWorker.start(url)
            try await client.createTopic("orders")
            try await client.createSubscription("hook", topic: "orders", url: old.url, extra: ["delivery_attempt_delay": 1])
            let message = try await client.publish(topic: "orders")
            try await eventually("the first attempt to fail") { await old.log.count == 1 }
            try await client.send(.patch, "/v1/subscriptions/hook", ["url": new.url, "http_method": "PUT", "headers": ["X-After": "patch"]])
            let deliveries = try await client.send(.get, "/v1/deliveries?message_id=\(message["id"] as! String)").list("deliveries")
            #expect(deliveries.first?["url"] as? String == new.url)
            try await eventually("the retry at the new URL") { await new.log.count == 1 }
            let retry = try #require(await new.log.requests.first)
            #expect(retry.method == .put)
            #expect(retry.header("X-After") == "patch")
            try await eventually("the delivery to complete") {
                try await client.send(.get, "/v1/deliveries").list("deliveries").first?["status"] as? String == "completed"
            }
            #expect(await old.log.count == 1)
            try await worker.stop()
        }
    }

    @Test func theTestSendHonoursEveryOption() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            try await subscribe(
                client,
                url: receiver.url,
                [
                    "http_method": "PATCH", "headers": ["X-Team": "billing"], "auth": ["type": "bearer", "token": "tok"],
                    "payload_format": "template", "payload_template": #"{"test": {{ message.data }}, "sub": "{{ subscription.id }}"}"#,
                ]
            )
            let result = try await client.send(.post, "/v1/subscriptions/hook/test")
            #expect(result["success"] as? Bool == true)
            #expect((result["request"] as? String)?.contains("Authorization: [redacted]") == true)
            let request = try #require(await receiver.log.requests.first)
            #expect(request.method == .patch)
            #expect(request.header("X-Team") == "billing")
            #expect(request.header("Authorization") == "Bearer tok")
            #expect((request.json["test"] as? [String: Any])?["message"] as? String == "hammer test event")
            #expect(request.json["sub"] as? String == "hook")
            #expect(try StandardWebhooksVerifier.verifies(request, secret: Self.secret))
        }
    }
}
