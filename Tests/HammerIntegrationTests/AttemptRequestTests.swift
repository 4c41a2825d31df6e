import Foundation
import Hammer
import PostgresNIO
import Testing

/// An attempt's record keeps the request line and headers but not the body its message and delivery determine; the
/// API, gRPC and the console still show the exact request sent, and a migration down writes the bodies back.
@Suite struct AttemptRequestTests {
    @Test func theRequestSentIsShownWholeButItsBodyIsNotStoredAgain() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestGRPC.run { hammer, client, store, url in
            try await client.createTopic("orders")
            let subscriptions: [(String, [String: Any])] = [
                ("events", [:]), ("raw", ["payload_format": "raw"]),
                ("templated", ["payload_format": "template", "payload_template": #"{"id": "{{ message.id }}"}"#]),
            ]
            for (id, options) in subscriptions {
                let created = try await client.createSubscription(id, topic: "orders", url: receiver.url, extra: options)
                #expect(created.status == .ok, "\(created.text)")
            }
            let worker = try TestWorker.start(url)
            try await client.publish(topic: "orders", data: #"{"name": "Allisson", "quote": "\" \\ \n\t\u0001"}"#)
            // UTF-8 text with a NUL in it, which the record shows as U+FFFD.
            try await client.publish(topic: "orders", data: "caf\u{E9} \u{0} end", contentType: "text/plain")
            // Bytes that are not UTF-8 text, a NUL among them, through the SQL outbox.
            try await store.client.query("SELECT hammer_publish_message('orders', 'application/octet-stream', '\\x00ff41c328'::bytea)")
            try await eventually("nine requests at the receiver") { await receiver.log.count == 9 }
            try await eventually("nine attempts recorded") { try await store.client.rowCount(.deliveryAttempts) == 9 }
            try await worker.stop()

            let received = Dictionary(uniqueKeysWithValues: await receiver.log.requests.map { ($0.header("webhook-id") ?? "", $0) })
            let deliveries = try await client.send(.get, "/v1/deliveries").decodeList(of: Wire.Delivery.self)
            let attempts = try await client.send(.get, "/v1/delivery-attempts").decodeList(of: Wire.DeliveryAttempt.self)
            #expect(attempts.count == 9)
            let stored = try await store.client.storedRequests()
            for attempt in attempts {
                let delivery = try #require(deliveries.first { $0.id == attempt.deliveryId })
                let request = try #require(received[attempt.deliveryId])
                let body = RecordedBody.rawText(Array(request.body))
                #expect(attempt.request.hasSuffix("\r\n\r\n" + body), "\(delivery.subscriptionId): \(attempt.request)")
                #expect(attempt.request.contains("webhook-signature: \(request.header("webhook-signature") ?? "")\r\n"))
                // What the record holds: the whole request for a template, the line and headers otherwise.
                let record = try #require(stored[attempt.id])
                if delivery.subscriptionId == "templated" {
                    #expect(record == attempt.request)
                } else {
                    #expect(record + body == attempt.request)
                    #expect(!record.contains("data_base64") && record.hasSuffix("\r\n\r\n"))
                }
                let one = try await client.send(.get, "/v1/delivery-attempts/\(attempt.id)").decode(Wire.DeliveryAttempt.self)
                #expect(one.request == attempt.request)
                #expect(try await hammer.getDeliveryAttempt(.with { $0.id = attempt.id }).request == attempt.request)
                let page = try await client.send(.get, "/ui/deliveries/\(attempt.deliveryId)")
                #expect(page.text.contains(request.header("webhook-signature") ?? "no signature"))
            }
            let binary = try #require(attempts.first { $0.request.contains("application/octet-stream") && !$0.request.contains("specversion") })
            #expect(binary.request.hasSuffix("\r\n\r\n\u{FFFD}\u{FFFD}A\u{FFFD}("))
            let text = try #require(attempts.first { $0.request.contains("text/plain") && !$0.request.contains("specversion") })
            #expect(text.request.hasSuffix("\r\n\r\ncaf\u{E9} \u{FFFD} end"))

            // Down writes the bodies back into the records (a raw body that is not UTF-8 text as a note); up again.
            let migrator = Migrator(client: store.client, logger: TestDatabase.logger)
            let migrations = try Migrator.embedded()
            try await migrator.down(migrations, steps: migrations.filter { $0.version >= 12 }.count)
            let restored = try await store.client.storedRequests()
            for attempt in attempts where attempt.id != binary.id {
                #expect(restored[attempt.id] == attempt.request, "\(attempt.id)")
            }
            #expect(restored[binary.id]?.hasSuffix("[body not restored: the message's bytes are not UTF-8 text]") == true)
            #expect(try await store.client.count("SELECT oldest_binary_schema::int FROM schema_compatibility") == 10)
            try await migrator.up(migrations)
            #expect(try await store.client.count("SELECT oldest_binary_schema::int FROM schema_compatibility") == Int(Migrator.requiredVersion))
            for attempt in try await client.send(.get, "/v1/delivery-attempts").decodeList(of: Wire.DeliveryAttempt.self)
            where attempt.id != binary.id {
                #expect(attempts.first { $0.id == attempt.id }?.request == attempt.request)
            }
        }
    }
}
