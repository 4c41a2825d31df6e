import Foundation
import PostgresNIO

extension ChaosHarness {
    /// Four ordered subscriptions, three workers, and a worker killed with SIGKILL `kills` times (and restarted) while
    /// they deliver. Every delivery must complete; each subscription's arrivals must follow publish order (a
    /// re-sent delivery may repeat, never step back), and no subscription may ever have two requests in flight.
    func orderedKill(_ settings: ChaosSettings) async throws -> ChaosVerdict {
        var verdict = ChaosVerdict(scenario: "ordered-kill")
        let lanes = 4
        let messages = settings.quick ? 100 : 500
        let kills = settings.quick ? 1 : 3
        let total = messages * lanes
        let server = try await startServer()
        var workers = [ChildProcess]()
        for index in 0..<3 { workers.append(try await startWorker(index)) }
        try await createTopic(
            "fifo",
            subscriptions: (0..<lanes).map {
                SubscriptionSpec(id: "fifo-\($0)", url: "http://127.0.0.1:\(receiver.port)/ordered-\($0)", timeout: 2, ordered: true)
            }
        )
        async let published = publishAll("fifo", count: messages, clients: 4)
        var generator = SystemRandomNumberGenerator()
        for kill in 0..<kills {
            let threshold = Int(Double(total) * (Double(kill) + 0.5) / Double(kills + 1))
            try await waitUntil("\(threshold) completed deliveries", timeout: .seconds(300)) {
                try await count("SELECT count(*) FROM deliveries WHERE status = 'completed'") >= threshold
            }
            let victim = Int.random(in: 0..<workers.count, using: &generator)
            workers[victim].kill9()
            progress("  kill \(kill + 1)/\(kills): worker\(victim) at \(threshold) completed deliveries")
            workers[victim] = try await startWorker(victim)
        }
        let acknowledged = try await published
        verdict.check("all \(messages) publishes acknowledged", acknowledged.count == messages)
        // A head the killed worker held blocks its subscription until its lease ends (timeout 2 s + 30 s margin).
        try await waitUntil("every delivery completed", timeout: .seconds(240)) {
            try await count("SELECT count(*) FROM deliveries WHERE status = 'completed'") >= total
        }
        verdict.deliveries = total
        verdict.lost = try await notCompleted(messages: acknowledged)

        // Publish order of every delivery, per subscription.
        let rows = try await db.query(
            "SELECT id, row_number() OVER (PARTITION BY subscription_id ORDER BY created_at, id) FROM deliveries",
            logger: logger
        ).collect()
        var rank: [String: Int] = [:]
        for row in rows {
            let (id, position) = try row.decode((String, Int).self)
            rank[id] = position
        }
        var violations = 0
        var duplicates = 0
        var seen = Set<String>()
        for (_, arrivals) in receiver.lanes() {
            var highest = 0
            for id in arrivals {
                let position = rank[id] ?? 0
                if position < highest { violations += 1 }
                if !seen.insert(id).inserted { duplicates += 1 }
                highest = max(highest, position)
            }
        }
        verdict.duplicates = duplicates
        let arrived = Set(receiver.lanes().values.joined()).count
        verdict.check("every delivery completed and arrived (\(arrived) of \(total))", verdict.lost == 0 && arrived == total)
        verdict.check("0 ordering violations (\(violations))", violations == 0)
        verdict.check(
            "never two requests of one subscription in flight (most at once: \(receiver.mostAtOnceInALane))",
            receiver.mostAtOnceInALane == 1
        )
        verdict.notes.append("\(kills) kills of 3 workers; 4 ordered subscriptions; duplicates re-send a delivery in its place")
        verdict.maxRSS = max(server.peakRSSMegabytes, workers.map(\.peakRSSMegabytes).max() ?? 0)
        return verdict
    }
}
