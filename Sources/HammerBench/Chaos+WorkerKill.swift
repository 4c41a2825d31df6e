import Foundation
import NIOConcurrencyHelpers
import PostgresNIO

extension ChaosHarness {
    /// Three workers deliver `deliveries`; one of them, chosen at random, is killed with SIGKILL `kills` times
    /// at evenly spread points of the run (and restarted). Every delivery must complete and reach the receiver;
    /// duplicates may not exceed the deliveries the killed workers held (claimed, not yet recorded) when killed.
    func workerKill(_ settings: ChaosSettings) async throws -> ChaosVerdict {
        var verdict = ChaosVerdict(scenario: "worker-kill")
        let subscriptions = 10
        let messages = settings.deliveries / subscriptions
        let total = messages * subscriptions
        verdict.deliveries = total
        let server = try await startServer()
        var workers = [ChildProcess]()
        for index in 0..<3 { workers.append(try await startWorker(index)) }
        try await createTopic(
            "kill",
            subscriptions: (0..<subscriptions).map { SubscriptionSpec(id: "kill-\($0)", url: receiver.url(.ok), timeout: Self.killTimeout) }
        )

        var peakRSS = 0.0
        async let published = publishAll("kill", count: messages, clients: 8)
        // Kill k happens once (k + 0.5) / (kills + 1) of the deliveries are completed.
        var heldChecks: [Task<[String], any Error>] = []
        var generator = SystemRandomNumberGenerator()
        for kill in 0..<settings.kills {
            let threshold = Int(Double(total) * (Double(kill) + 0.5) / Double(settings.kills + 1))
            try await waitUntil("\(threshold) completed deliveries", timeout: .seconds(300)) {
                try await count("SELECT count(*) FROM deliveries WHERE status = 'completed'") >= threshold
            }
            let victim = Int.random(in: 0..<workers.count, using: &generator)
            peakRSS = max(peakRSS, workers[victim].peakRSSMegabytes)
            workers[victim].kill9()
            heldChecks.append(try await leasesHeldByTheDead())
            progress("  kill \(kill + 1)/\(settings.kills): worker\(victim) at \(threshold) completed deliveries")
            workers[victim] = try await startWorker(victim)
        }
        let acknowledged = try await published
        verdict.check("all \(messages) publishes acknowledged", acknowledged.count == messages)
        // A dead worker's leases stay untouched until they end, so later kills see them again: count each once.
        var heldLeases = Set<String>()
        for check in heldChecks { heldLeases.formUnion(try await check.value) }
        let held = heldLeases.count

        // Deliveries held by a killed worker become due again when their lease ends (timeout + 30 s margin).
        try await waitUntil("every delivery completed", timeout: .seconds(180)) {
            try await count("SELECT count(*) FROM deliveries WHERE status = 'completed'") >= total
        }
        let missing = try await tally(&verdict, acknowledged: acknowledged)
        verdict.check("every delivery completed", try await count("SELECT count(*) FROM deliveries WHERE status <> 'completed'") == 0)
        verdict.check("the receiver saw every webhook-id (\(missing) missing)", missing == 0)
        let failedAttempts = try await count("SELECT count(*) FROM delivery_attempts WHERE NOT success")
        verdict.check("duplicates (\(verdict.duplicates)) ≤ deliveries the killed workers held when killed (\(held))", verdict.duplicates <= held)
        verdict.check("no attempt failed (\(failedAttempts)): every duplicate comes from a kill", failedAttempts == 0)
        verdict.notes.append(
            "\(settings.kills) kills; the killed workers held \(held) deliveries (claimed, not recorded): in flight or sent and awaiting their write"
        )
        peakRSS = max(peakRSS, server.peakRSSMegabytes, workers.map(\.peakRSSMegabytes).max() ?? 0)
        verdict.maxRSS = peakRSS
        return verdict
    }

    /// A timeout the receiver never comes near even on a saturated machine, so every duplicate comes from a kill,
    /// not from a slow answer retried.
    static let killTimeout = 10

    /// Right after a kill: the live leases. Once a send could have timed out and been recorded, those still
    /// untouched were the dead worker's (a live worker records its sends within the timeout; a dead one's wait for
    /// the lease to end).
    /// Returns the task that finds them, as `id@lease` strings.
    private func leasesHeldByTheDead() async throws -> Task<[String], any Error> {
        let rows = try await db.query(
            "SELECT delivery_id, (extract(epoch FROM leased_until) * 1000000)::bigint FROM delivery_queue WHERE status = 'pending' AND leased_until > now()",
            logger: logger
        ).collect()
        let leases = try rows.map { try $0.decode((String, Int64).self) }
        return Task {
            try await Task.sleep(for: .seconds(Self.killTimeout + 3))
            let untouched = try await db.query(
                """
                SELECT q.delivery_id || '@' || h.lease FROM delivery_queue q
                JOIN unnest(\(leases.map(\.0))::text[], \(leases.map(\.1))::bigint[]) AS h(id, lease) ON h.id = q.delivery_id
                WHERE (extract(epoch FROM q.leased_until) * 1000000)::bigint = h.lease
                """,
                logger: logger
            ).collect()
            return try untouched.map { try $0.decode(String.self) }
        }
    }
}
