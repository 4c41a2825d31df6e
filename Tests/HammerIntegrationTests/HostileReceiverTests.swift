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
                let attempts = try await client.attempts()
                #expect(attempts.count == 2)
                for attempt in attempts {
                    #expect(attempt.errorKind == "timeout")
                    #expect(attempt.error == "timeout after 1s")
                    #expect(!attempt.success)
                    // The whole attempt, body included, ends at its 1 s deadline.
                    #expect(attempt.executionDuration >= 950 && attempt.executionDuration < 1500, "\(attempt.executionDuration) ms")
                }
                #expect(try await fixture.client.attemptsOfTheOnlyDelivery() == 2)
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

    /// With every subscription at its share, the worker must not fall back on its poll: each send that ends frees
    /// a slot the next claim fills at once. 2 subscriptions × 100 deliveries, 2 slots each, a 60 s poll.
    @Test func subscriptionsAtTheirShareDrainWithoutWaitingForThePoll() async throws {
        try await Fixture.withReceiver { url, fixture, receiver in
            try await fixture.topic("orders")
            try await fixture.subscription("a", topic: "orders", url: receiver.url)
            try await fixture.subscription("b", topic: "orders", url: receiver.url)
            for _ in 0..<100 { try await fixture.publish(topic: "orders") }
            let worker = try TestWorker.start(url, environment: ["HAMMER_WORKER_CONCURRENCY": "8", "HAMMER_WORKER_POLL_INTERVAL": "60s"])
            try await eventually(timeout: .seconds(30), "every delivery completed") { try await fixture.statuses() == ["completed": 200] }
            try await worker.stop()
            #expect(await receiver.log.count == 200)
        }
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
                    url,
                    environment: ["HAMMER_WORKER_CONCURRENCY": "8", "HAMMER_WORKER_SHUTDOWN_TIMEOUT": "100ms"]
                )
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

/// A record batch that PostgreSQL refuses for one of its rows is split: the other outcomes land as they are, and the
/// refused one is recorded without its dumps, so one poison row never stops a worker.
@Suite struct PoisonRecordTests {
    @Test func onePoisonOutcomeIsSetAsideAndTheRestLand() async throws {
        try await Fixture.withReceiver { url, fixture, receiver in
            let client = fixture.client
            try await fixture.topic("orders")
            try await fixture.subscription("billing", topic: "orders", url: receiver.url)
            // Refuses any attempt at the message "poison" (base64 cG9pc29u) unless it is the note set aside in its place.
            try await client.query(
                """
                CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.request NOT LIKE '[not recorded:%' AND EXISTS (
                        SELECT 1 FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.id = NEW.delivery_id AND m.data = 'cG9pc29u'
                    ) THEN RAISE EXCEPTION 'poison row'; END IF;
                    RETURN NEW;
                END $$
                """
            )
            try await client.query(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON delivery_attempts FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
            )
            // Published before the worker starts, so one claim and one record batch hold them all.
            for index in 0..<7 { try await fixture.publish(topic: "orders", data: index == 3 ? "poison" : "fine \(index)") }
            let worker = try TestWorker.start(url)
            try await eventually("every delivery completed") { try await fixture.statuses() == ["completed": 7] }
            try await worker.stop()
            #expect(await receiver.log.count == 7)
            #expect(try await fixture.client.rowCount(.deliveryAttempts) == 7)
            let requests = try await client.attemptRequests()
            #expect(requests.filter { $0.hasPrefix("[not recorded: PostgreSQL refused this attempt's record (SQLSTATE P0001)]") }.count == 1)
            #expect(requests.filter { $0.hasPrefix("POST /hook HTTP/1.1") }.count == 6)
        }
    }
}
