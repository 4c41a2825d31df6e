import AsyncHTTPClient
import Foundation

extension Bench {
    /// How much one slow endpoint with a deep backlog takes from the others: the fast subscriptions' backlog drained
    /// alone, then the same backlog again beside a subscription whose endpoint answers after a second, then alone once
    /// more. Beside is compared with the mean of the two drains alone around it, so a machine that speeds up or slows
    /// down during the scenario moves both sides alike. The rate of each is taken between the first tenth of the fast
    /// arrivals and the last, so worker start-up is left out.
    func fairness(_ http: HTTPClient) async throws -> Results.Fairness {
        let fast = settings.quick ? 2_000 : 40_000
        let slow = settings.quick ? 200 : 2_000
        let before = try await fastDrainRate(http, topic: "fair-alone", fast: fast, slow: 0)
        let beside = try await fastDrainRate(http, topic: "fair-mixed", fast: fast, slow: slow)
        let after = try await fastDrainRate(http, topic: "fair-alone-again", fast: fast, slow: 0)
        return .init(fastDeliveries: fast, slowBacklog: slow, aloneRates: [before, after], besideSlowRate: beside)
    }

    private func fastDrainRate(_ http: HTTPClient, topic: String, fast: Int, slow: Int) async throws -> Double {
        if slow > 0 {
            // The slow endpoint is the Swift sink's /slow, which nginx's count does not see. Its backlog is written
            // first, so it is the oldest due and takes its cap of send slots throughout: the claim goes oldest due
            // first, and a backlog due after the fast ones would only start once they were drained.
            try await insertTopic("\(topic)-slow", url: "\(sinkBase)/slow", subscriptions: 1)
            try await insertPending(topic: "\(topic)-slow", deliveries: slow, subscriptions: 1)
        }
        try await insertTopic(topic, url: bulkURL)
        try await insertPending(topic: topic, deliveries: fast)
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
        throw BenchError("fairness: \(topic) did not drain")
    }
}
