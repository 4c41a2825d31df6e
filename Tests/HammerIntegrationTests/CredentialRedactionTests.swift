import Foundation
import Hammer
import HummingbirdTesting
import Testing

/// Credentials inside webhook URLs (user info, query values) show only in the subscription's own GET: lists,
/// deliveries, attempt dumps, the console and callback bodies show them redacted.
@Suite struct CredentialRedactionTests {
    @Test func urlCredentialsShowOnlyInTheSubscriptionsOwnGet() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let callbacks = try await WebhookReceiver.start()
        defer { callbacks.stop() }
        try await TestApp.run { client, store, url in
            let worker = try TestWorker.start(url)
            do {
                try await scenario(client, store, receiver, callbacks)
            } catch {
                try await worker.stop()
                throw error
            }
            try await worker.stop()
        }
    }

    private func scenario(_ client: any TestClientProtocol, _ store: Store, _ receiver: WebhookReceiver, _ callbacks: WebhookReceiver) async throws {
        let secretURL = "http://user:pa55@127.0.0.1:\(receiver.port)/hook?token=s3cret&v=2"
        try await client.createTopic("orders")
        let created = try await client.createSubscription(
            "hook",
            topic: "orders",
            url: secretURL,
            extra: ["callback_url": callbacks.url + "?key=cb-s3cret", "callback_events": ["delivery.completed"]]
        )
        #expect(created["url"] as? String == secretURL)
        #expect(try await client.send(.get, "/v1/subscriptions/hook")["url"] as? String == secretURL)
        let listed = try #require(try await client.send(.get, "/v1/subscriptions").list("subscriptions").first)
        #expect(listed["url"] as? String == "http://[redacted]@127.0.0.1:\(receiver.port)/hook?token=[redacted]&v=[redacted]")
        #expect(listed["callback_url"] as? String == callbacks.url + "?key=[redacted]")

        try await client.publish(topic: "orders")
        try await eventually("the callback") { await callbacks.log.count == 1 }
        // The request itself went to the URL as written.
        #expect(await receiver.log.requests.first?.path == "/hook")
        let delivery = try #require(try await client.send(.get, "/v1/deliveries").list("deliveries").first)
        let deliveryID = try #require(delivery["id"] as? String)
        for shown in [delivery, try await client.send(.get, "/v1/deliveries/\(deliveryID)").object] {
            #expect(shown["url"] as? String == "http://[redacted]@127.0.0.1:\(receiver.port)/hook?token=[redacted]&v=[redacted]")
        }
        let attempt = try #require(try await client.send(.get, "/v1/delivery-attempts?delivery_id=\(deliveryID)").list("delivery_attempts").first)
        let request = try #require(attempt["request"] as? String)
        #expect(request.hasPrefix("POST /hook?token=[redacted]&v=[redacted] HTTP/1.1\r\n"))
        let callbackDelivery = await callbacks.log.requests.first?.json["delivery"] as? [String: Any]
        #expect(callbackDelivery?["url"] as? String == "http://[redacted]@127.0.0.1:\(receiver.port)/hook?token=[redacted]&v=[redacted]")
        for page in ["/ui/subscriptions", "/ui/deliveries/\(deliveryID)"] {
            let html = try await client.send(.get, page).text
            #expect(!html.contains("s3cret") && !html.contains("pa55"), "\(page)")
        }

        // The database's rule (callback bodies) and the Swift one agree.
        for url in [
            secretURL, "https://a@b@example.com:8080?x=1=2#frag", "http://example.com/p@th?", "http://example.com/?a=&&b", "https://e.com/x",
            "https://h/p?\u{301}token=s&\u{301}k=v",
        ] {
            let sql = try await store.client.query("SELECT hammer_redacted_url(\(url))").collect().first?.decode(String.self)
            #expect(sql == URLRedaction.redacted(url), "\(url)")
        }
    }
}
