import Foundation
import Hammer
import Testing

/// HAMMER_ALLOW_PRIVATE_TARGETS=false (the default): private destinations are refused at create time and at send time.
@Suite struct PrivateTargetTests {
    static let refused = [
        "http://127.0.0.1/hook", "http://localhost:8080/hook", "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.10/",
        "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/", "http://0.0.0.0/", "http://[::1]/", "http://[fd00::1]/",
        "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://[::]/",
    ]

    @Test func privateURLsAreRefusedAtCreateAndPatch() async throws {
        try await TestApp.run(environment: ["HAMMER_ALLOW_PRIVATE_TARGETS": "false"]) { client, store in
            try await client.createTopic("orders")
            for url in Self.refused {
                let response = try await client.createSubscription("s", topic: "orders", url: url)
                #expect(response.status == .badRequest, "\(url)")
                #expect(response.detailFields == ["url"], "\(url)")
                #expect(response.text.contains("HAMMER_ALLOW_PRIVATE_TARGETS"), "\(url)")
            }
            let publicLiteral = try await client.createSubscription("public", topic: "orders", url: "http://93.184.216.34/hook")
            #expect(publicLiteral.status == .ok)
            let patched = try await client.send(.patch, "/v1/subscriptions/public", #"{"url": "http://127.0.0.1:9000/"}"#)
            #expect(patched.status == .badRequest)
            #expect(patched.detailFields == ["url"])
            let count = try await store.client.rowCount(.subscriptions)
            #expect(count == 1)
        }
    }

    /// A refusal names no address (an API user must not learn what internal names resolve to); a host that does not
    /// resolve now is accepted, since DNS may not exist yet: the send-time check decides.
    @Test func refusalsNameNoAddressAndUnresolvableHostsAreAccepted() async throws {
        try await TestApp.run(environment: ["HAMMER_ALLOW_PRIVATE_TARGETS": "false"]) { client, store in
            try await client.createTopic("orders")
            let refused = try await client.createSubscription("local", topic: "orders", url: "http://localhost:8080/hook")
            #expect(refused.status == .badRequest)
            #expect(!refused.text.contains("127.0.0.1") && !refused.text.contains("::1"), "\(refused.text)")
            #expect(refused.text.contains("resolves to a private, loopback or link-local address"))
            let mapped = try await client.createSubscription("mapped", topic: "orders", url: "http://[::ffff:10.1.2.3]/hook")
            #expect(mapped.status == .badRequest)
            #expect(!mapped.text.contains("10.1.2.3"), "\(mapped.text)")

            let unresolvable = try await client.createSubscription("later", topic: "orders", url: "https://hooks.hammer-test.invalid/hook")
            #expect(unresolvable.status == .ok, "\(unresolvable.text)")
            let patched = try await client.send(.patch, "/v1/subscriptions/later", #"{"url": "https://other.hammer-test.invalid/"}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            let count = try await store.client.rowCount(.subscriptions)
            #expect(count == 1)
        }
    }

    @Test func privateURLsAreNotSentTo() async throws {
        try await Fixture.withReceiver { url, fixture, receiver in
            let client = fixture.client
            try await fixture.topic("orders")
            // Stored while allowed (or before DNS changed); the worker checks again before sending.
            try await fixture.subscription("local", topic: "orders", url: receiver.url, maxAttempts: 1)
            let worker = try TestWorker.start(url, environment: ["HAMMER_ALLOW_PRIVATE_TARGETS": "false"])
            try await fixture.publish(topic: "orders")
            try await eventually("the delivery to fail") { try await fixture.statuses() == ["failed": 1] }
            try await worker.stop()
            #expect(await receiver.log.count == 0)
            let (kind, error) = try #require(try await client.attemptErrors().first)
            #expect(kind == "blocked_target")
            #expect(error.contains("private"))
        }
    }
}
