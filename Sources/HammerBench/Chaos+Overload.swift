import Foundation
import NIOCore

extension ChaosHarness {
    /// Publishing faster than delivery: the receiver takes 100 ms per request and the worker sends 8 at a time
    /// (about 80 deliveries/s) while 8 clients publish 100 messages/s to 2 subscriptions (200 deliveries/s).
    /// Memory of both processes must stay flat as the backlog grows, and the backlog must drain afterwards.
    func overload(_ settings: ChaosSettings) async throws -> ChaosVerdict {
        var verdict = ChaosVerdict(scenario: "overload")
        let server = try await startServer()
        let worker = try await startWorker(0, ["HAMMER_WORKER_CONCURRENCY": "8"])
        try await createTopic("overload", subscriptions: (0..<2).map { SubscriptionSpec(id: "overload-\($0)", url: receiver.url(.ok)) })
        receiver.setOKDelay(.milliseconds(100))

        let rate = 100
        let clients = 8
        let started = ContinuousClock.now
        let sampler = Task {
            var samples: [(Double, Double, Double)] = []
            while !Task.isCancelled {
                samples.append(((ContinuousClock.now - started).inSeconds, server.rssMegabytes, worker.rssMegabytes))
                try? await Task.sleep(for: .seconds(1))
            }
            return samples
        }
        let total = settings.overloadSeconds * rate
        let acknowledged = try await withThrowingTaskGroup(of: [String].self) { group in
            for client in 0..<clients {
                group.addTask {
                    var ids: [String] = []
                    for index in stride(from: client, to: total, by: clients) {
                        try await Task.sleep(until: started + .microseconds(Int64(index) * 1_000_000 / Int64(rate)))
                        if let id = try await self.publish("overload").id { ids.append(id) }
                    }
                    return ids
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let publishSeconds = (ContinuousClock.now - started).inSeconds
        let backlog = try await count("SELECT count(*) FROM deliveries WHERE status = 'pending'")
        progress("  published \(acknowledged.count) messages in \(Int(publishSeconds)) s; \(backlog) deliveries pending; draining")

        receiver.setOKDelay(.zero)
        let drainStarted = ContinuousClock.now
        try await waitForCompletion("the backlog to drain", messages: acknowledged, timeout: .seconds(600))
        let drainSeconds = (ContinuousClock.now - drainStarted).inSeconds
        sampler.cancel()
        let samples = await sampler.value

        try await tally(&verdict, acknowledged: acknowledged)
        verdict.maxRSS = max(server.peakRSSMegabytes, worker.peakRSSMegabytes)

        // Flat: the peak of the last third of the publishing is within 25% (+10 MB) of the peak of the first third.
        let during = samples.filter { $0.0 <= publishSeconds }
        let third = max(during.count / 3, 1)
        let early = (server: during.prefix(third).map(\.1).max() ?? 0, worker: during.prefix(third).map(\.2).max() ?? 0)
        let late = (server: during.suffix(third).map(\.1).max() ?? 0, worker: during.suffix(third).map(\.2).max() ?? 0)
        verdict.check("every publish acknowledged (\(acknowledged.count) of \(total), \(Int(publishSeconds)) s)", acknowledged.count == total)
        verdict.check("a backlog built up (\(backlog) pending when publishing stopped)", backlog > 0)
        verdict.check(
            String(format: "server RSS flat while the backlog grew: %.0f MB early, %.0f MB late", early.server, late.server),
            late.server <= early.server * 1.25 + 10
        )
        verdict.check(
            String(format: "worker RSS flat while the backlog grew: %.0f MB early, %.0f MB late", early.worker, late.worker),
            late.worker <= early.worker * 1.25 + 10
        )
        verdict.check(String(format: "peak RSS %.0f MB (bound 150 MB)", verdict.maxRSS), verdict.maxRSS < 150)
        verdict.check(String(format: "backlog drained in %.1f s, nothing lost", drainSeconds), verdict.lost == 0)
        verdict.check("no duplicates", verdict.duplicates == 0)
        return verdict
    }
}
