import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import PostgresNIO

extension Bench {
    /// A 10-subscription backlog drained alone, beside 10,000 subscriptions of another topic with nothing pending, and
    /// alone again: idle subscriptions must cost a claim nothing. Beside is compared with the mean of the two drains
    /// alone around it (the machine's drift moves both sides alike).
    func idleSubscriptions(_ http: HTTPClient) async throws -> Results.Comparison {
        let deliveries = settings.quick ? 2_000 : 10_000
        let idle = settings.quick ? 1_000 : 10_000
        let before = try await drainRate(http, topic: "idle-alone", deliveries: deliveries)
        try await client.query("INSERT INTO topics (id, name) VALUES ('idle', 'idle')", logger: logger)
        try await client.query(
            """
            INSERT INTO subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
            SELECT 'idle-' || i, 'idle', 's', \(bulkURL), 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 5, 1, 10 FROM generate_series(1, \(idle)) i
            """,
            logger: logger
        )
        try await client.query("ANALYZE subscriptions", logger: logger)
        let beside = try await drainRate(http, topic: "idle-beside", deliveries: deliveries)
        try await client.query("DELETE FROM topics WHERE id = 'idle'", logger: logger)
        let after = try await drainRate(http, topic: "idle-alone-again", deliveries: deliveries)
        return .init(deliveries: deliveries, aloneRates: [before, after], besideRate: beside, besideWhat: "\(idle) idle subscriptions")
    }

    /// A 30,000-delivery backlog drained without, with and again without a `REPEATABLE READ` transaction held open on
    /// another connection for the whole drain (an analytics query, a client idle in transaction), which keeps vacuum
    /// from removing any row the drain deletes.
    func heldTransaction(_ http: HTTPClient) async throws -> Results.Comparison {
        let deliveries = settings.quick ? 2_000 : 30_000
        let before = try await drainRate(http, topic: "held-without", deliveries: deliveries)
        let logger = self.logger
        let bench = self
        let beside = try await client.withConnection { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ", logger: logger)
            _ = try await connection.query("SELECT count(*) FROM topics", logger: logger).collect()
            let rate = try await bench.drainRate(http, topic: "held-with", deliveries: deliveries)
            try await connection.query("ROLLBACK", logger: logger)
            return rate
        }
        let after = try await drainRate(http, topic: "held-without-again", deliveries: deliveries)
        return .init(deliveries: deliveries, aloneRates: [before, after], besideRate: beside, besideWhat: "a transaction held open")
    }

    /// The deliveries per second one worker drains `deliveries` pending deliveries of `topic` (S subscriptions) at,
    /// from the first tenth of the arrivals to the last, so worker start-up is left out. The topic is deleted after.
    func drainRate(_ http: HTTPClient, topic: String, deliveries: Int, slowBacklog: Int = 0) async throws -> Double {
        if slowBacklog > 0 {
            // The slow endpoint is the Swift sink's /slow, which nginx's count does not see. Its backlog is written
            // first, so it is the oldest due and takes its cap of send slots throughout: the claim goes oldest due
            // first, and a backlog due after the fast ones would only start once they were drained.
            try await insertTopic("\(topic)-slow", url: "\(sinkBase)/slow", subscriptions: 1)
            try await insertPending(topic: "\(topic)-slow", deliveries: slowBacklog, subscriptions: 1)
        }
        try await insertTopic(topic, url: bulkURL)
        try await insertPending(topic: topic, deliveries: deliveries)
        let total = try await count("SELECT count(*) FROM deliveries WHERE topic_id = '\(topic)'")
        try await resetSink(http)
        let workers = try startWorkers(http)
        defer { for worker in workers { worker.stop() } }
        let deadline = ContinuousClock.now + .seconds(900)
        var first: (Int, ContinuousClock.Instant)?
        while ContinuousClock.now < deadline {
            let done = try await arrivals(http)
            if first == nil, done >= total / 10 { first = (done, .now) }
            if done >= total, let first {
                for worker in workers { worker.stop() }
                try await client.query("DELETE FROM topics WHERE id IN (\(topic), \(topic + "-slow"))", logger: logger)
                return Double(done - first.0) / (ContinuousClock.now - first.1).inSeconds
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchError("\(topic) did not drain")
    }

    /// A day of history 40 days old (deliveries, each with an attempt; 1% still pending) dropped by `hammer cleanup
    /// --older-than 30d` while C clients publish and a worker delivers: how long the drop took, the bytes it gave
    /// back, publishing's latency before and during it, and the pending deliveries of that day all delivered.
    func retention(_ http: HTTPClient) async throws -> Results.Retention {
        let history = settings.quick ? 20_000 : 1_000_000
        try await insertTopic("history", url: bulkURL)
        for statement in PastHistory.statements(daysAgo: 40, topic: "history", messages: history / settings.subscriptions, pendingEvery: 100) {
            try await client.query(statement, logger: logger)
        }
        let pending = try await count("SELECT count(*) FROM delivery_queue WHERE subscription_id LIKE 'history-%'")
        let sizeBefore = try await count("SELECT pg_database_size(current_database())")
        try await createTopic(http, "during", url: bulkURL)
        try await resetSink(http)
        let workers = try startWorkers(http)
        defer { for worker in workers { worker.stop() } }
        try await waitWorkersReady(http)

        let stop = NIOLockedValueBox(false)
        let publishing = Task { try await publishUntil(stop, http, topic: "during") }
        try await Task.sleep(for: .seconds(3))
        let cleanupStarted = ContinuousClock.now
        let command = "HAMMER_DATABASE_URL='\(environment["HAMMER_DATABASE_URL"] ?? "")' LOG_LEVEL=error \(binaries)/hammer cleanup --older-than 30d"
        let output = await Task.detached { capture(command) }.value
        let cleanupEnded = ContinuousClock.now
        try await Task.sleep(for: .seconds(2))
        stop.withLockedValue { $0 = true }
        let samples = try await publishing.value
        guard let output, output.contains("dropped 1 period(s)") else {
            throw BenchError("retention: cleanup did not drop the day: \(output ?? "failed")")
        }
        let sizeAfter = try await count("SELECT pg_database_size(current_database())")
        let deadline = ContinuousClock.now + .seconds(300)
        while try await count("SELECT count(*) FROM delivery_queue WHERE subscription_id LIKE 'history-%'") > 0 {
            guard ContinuousClock.now < deadline else { throw BenchError("retention: the kept pending deliveries were not all delivered") }
            try await Task.sleep(for: .milliseconds(100))
        }
        let before = samples.filter { $0.sent < cleanupStarted }.map(\.milliseconds).sorted()
        let during = samples.filter { $0.sent >= cleanupStarted && $0.sent <= cleanupEnded }.map(\.milliseconds).sorted()
        try await client.query("DELETE FROM topics WHERE id IN ('history', 'during')", logger: logger)
        return .init(
            deliveries: history,
            keptPending: pending,
            seconds: (cleanupEnded - cleanupStarted).inSeconds,
            bytesReturned: sizeBefore - sizeAfter,
            publishP99Before: before.quantile(0.99),
            publishP99During: during.quantile(0.99),
            publishesDuring: during.count
        )
    }

    /// One publish after another from C clients until `stop` is set: when each was sent and how long it took. A publish
    /// that fails fails the scenario (publishing must go on without errors).
    private func publishUntil(
        _ stop: NIOLockedValueBox<Bool>,
        _ http: HTTPClient,
        topic: String
    ) async throws -> [(sent: ContinuousClock.Instant, milliseconds: Double)] {
        try await withThrowingTaskGroup(of: [(sent: ContinuousClock.Instant, milliseconds: Double)].self) { group in
            for _ in 0..<settings.clients {
                group.addTask {
                    var samples: [(sent: ContinuousClock.Instant, milliseconds: Double)] = []
                    while !stop.withLockedValue({ $0 }) {
                        let sent = ContinuousClock.now
                        let response = try await HammerAPI(http: http, base: api).post(
                            "/v1/messages",
                            #"{"topic_id":"\#(topic)","content_type":"application/json","data":"{}"}"#
                        )
                        guard response.status == 200 else { throw BenchError("publish failed during retention: \(response.body)") }
                        samples.append((sent, (ContinuousClock.now - sent).inSeconds * 1000))
                    }
                    return samples
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }
}
