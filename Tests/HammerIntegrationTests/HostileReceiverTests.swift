import Foundation
import Hammer
import PostgresNIO
import Testing

/// Receivers that misbehave on purpose cannot stall the worker: one deadline bounds each attempt, and one
/// subscription holds at most its share of a worker's send slots.
@Suite struct HostileReceiverTests {
    static let stalledBody = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Type: text/plain\r\n\r\n"

    @Test func aStalledBodyIsATimedOutAttemptAndTheDeliveryFailsAfterItsAttempts() async throws {
        let receiver = try await RawReceiver.start(answer: Self.stalledBody)
        try await TestDatabase.withDatabase { url in
            try await TestDatabase.withClient(url) { client in
                let fixture = Fixture(client: client)
                try await fixture.topic("orders")
                try await fixture.subscription("stalled", topic: "orders", url: receiver.url, maxAttempts: 2, delay: 1, timeout: 1)
                let worker = try TestWorker.start(url)
                try await fixture.publish(topic: "orders")
                try await eventually("the delivery to fail") { try await fixture.statuses() == ["failed": 1] }
                try await worker.stop()

                #expect(receiver.requestCount == 2)
                let attempts = try await client.query("SELECT error_kind, error, execution_duration, success FROM delivery_attempts ORDER BY created_at")
                    .collect().map { try $0.decode((String, String, Int, Bool).self) }
                #expect(attempts.count == 2)
                for (kind, error, duration, success) in attempts {
                    #expect(kind == "timeout")
                    #expect(error == "timeout after 1s")
                    #expect(!success)
                    // The whole attempt, body included, ends at its 1 s deadline.
                    #expect(duration >= 950 && duration < 1500, "\(duration) ms")
                }
                #expect(try await fixture.count("SELECT delivery_attempts FROM deliveries") == 2)
            }
        }
        await receiver.stop()
    }

    @Test func aTestSendToAStalledBodyAnswersWithinItsTimeout() async throws {
        let receiver = try await RawReceiver.start(answer: Self.stalledBody)
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            try await client.createSubscription("stalled", topic: "orders", url: receiver.url, extra: ["delivery_attempt_timeout": 1])
            let started = ContinuousClock.now
            let test = try await client.send(.post, "/v1/subscriptions/stalled/test")
            let elapsed = ContinuousClock.now - started
            #expect(test.status == .ok)
            #expect(test["success"] as? Bool == false)
            #expect(test["error_kind"] as? String == "timeout")
            #expect(elapsed < .milliseconds(2500), "\(elapsed)")
        }
        await receiver.stop()
    }

    /// 200 deliveries to an endpoint slower than its timeout, then one to a healthy endpoint: with 8 slots and a
    /// share of 2 per subscription, the healthy one goes out at once instead of after the slow ones' timeouts.
    @Test func aSlowSubscriptionsBacklogDoesNotDelayAnotherSubscription() async throws {
        let slow = try await WebhookReceiver.start { _ in .init(delay: .seconds(30)) }
        let healthy = try await WebhookReceiver.start()
        defer {
            slow.stop()
            healthy.stop()
        }
        try await TestDatabase.withDatabase { url in
            try await TestDatabase.withClient(url) { client in
                let fixture = Fixture(client: client)
                try await fixture.topic("slow")
                try await fixture.topic("healthy")
                try await fixture.subscription("slow", topic: "slow", url: slow.url, maxAttempts: 1, timeout: 5)
                try await fixture.subscription("healthy", topic: "healthy", url: healthy.url)
                for _ in 0..<200 { try await fixture.publish(topic: "slow") }
                let worker = try TestWorker.start(
                    url, environment: ["HAMMER_WORKER_CONCURRENCY": "8", "HAMMER_WORKER_SHUTDOWN_TIMEOUT": "100ms"])
                try await eventually("the slow endpoint to hold its share") { await slow.log.count >= 2 }
                let published = Date()
                try await fixture.publish(topic: "healthy")
                try await eventually("the healthy delivery") { await healthy.log.count == 1 }
                let arrived = try #require(await healthy.log.requests.first).arrivedAt
                #expect(arrived.timeIntervalSince(published) < 2, "\(arrived.timeIntervalSince(published)) s")
                // The slow endpoint never held more than its share (a quarter of 8).
                #expect(await slow.log.count == 2)
                try await worker.stop()
            }
        }
    }
}
