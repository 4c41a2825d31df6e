import Foundation
import NIOConcurrencyHelpers

extension ChaosHarness {
    /// PostgreSQL stopped (fast, then immediate) and started again while clients publish and a worker delivers.
    /// While it is down, requests wait for the database at most 10 s and then get 503 `unavailable`; afterwards both processes recover by themselves,
    /// the worker's LISTEN resumes (its poll interval is 60 s, so only a notification wakes it) and nothing is lost.
    func postgresRestart(_ settings: ChaosSettings) async throws -> ChaosVerdict {
        var verdict = ChaosVerdict(scenario: "postgres-restart")
        let server = try await startServer()
        let worker = try await startWorker(0, ["HAMMER_WORKER_POLL_INTERVAL": "60s"])
        try await createTopic("restart", subscriptions: (0..<2).map { SubscriptionSpec(id: "restart-\($0)", url: receiver.url(.ok)) })

        let log = PublishLog()
        let publishing = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        while !Task.isCancelled {
                            do {
                                let (id, answer) = try await self.publish("restart", timeout: 20)
                                log.record(id: id, answer: answer)
                            } catch {
                                if !Task.isCancelled { log.recordFailure("\(error)") }
                            }
                            try? await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
            }
        }
        let phase: Duration = settings.quick ? .seconds(2) : .seconds(4)
        var recoveries: [(mode: String, api: Double, worker: Double)] = []
        try await Task.sleep(for: phase)
        for mode in ["fast", "immediate"] {
            progress("  stopping PostgreSQL (\(mode))")
            try stopPostgres(mode: mode)
            let down = log.snapshot()
            // Longer than the API's 10 s database deadline, so requests waiting for the database get their 503.
            try await Task.sleep(for: .seconds(12))
            verdict.check(
                "with PostgreSQL down (\(mode)) the API answered 503 (\(log.snapshot().unavailable - down.unavailable) times)",
                log.snapshot().unavailable > down.unavailable
            )
            try startPostgres()
            let upAt = Date()
            progress("  PostgreSQL started again")
            try await waitUntil("a publish acknowledged after the restart", timeout: .seconds(60)) { log.lastAcknowledged > upAt }
            let apiRecovery = log.firstAcknowledged(after: upAt).map { $0.timeIntervalSince(upAt) } ?? -1
            try await waitUntil("a delivery after the restart", timeout: .seconds(60)) {
                receiver.arrivals(.ok).last.map { $0.at > upAt } ?? false
            }
            let workerRecovery = receiver.arrivals(.ok).first(where: { $0.at > upAt }).map { $0.at.timeIntervalSince(upAt) } ?? -1
            recoveries.append((mode, apiRecovery, workerRecovery))
            try await Task.sleep(for: phase)
        }
        publishing.cancel()
        await publishing.value
        let summary = log.snapshot()

        // LISTEN resumed: with a 60 s poll only a notification makes this delivery arrive quickly.
        let before = receiver.count(.ok)
        let published = Date()
        let (probe, _) = try await publish("restart")
        try await waitUntil("the probe delivered", timeout: .seconds(30)) { receiver.count(.ok) >= before + 2 }
        let probeLatency = receiver.arrivals(.ok).last.map { $0.at.timeIntervalSince(published) } ?? -1

        let acknowledged = summary.acknowledged + (probe.map { [$0] } ?? [])
        try await waitForCompletion("every acknowledged message delivered", messages: acknowledged, timeout: .seconds(120))
        try await tally(&verdict, acknowledged: acknowledged)
        verdict.check("server and worker still running (no crash)", server.isRunning && worker.isRunning)
        verdict.check("every 503 was the JSON error `unavailable` (\(summary.otherErrors.count) other failures)", summary.otherErrors.isEmpty)
        verdict.check(String(format: "slowest answer while down %.1f s (bound 11 s)", summary.slowestUnavailable), summary.slowestUnavailable <= 11)
        for recovery in recoveries {
            verdict.check(
                String(
                    format: "after the %@ restart: API recovered in %.1f s, worker in %.1f s (bound 15 s)",
                    recovery.mode,
                    recovery.api,
                    recovery.worker
                ),
                recovery.api >= 0 && recovery.api <= 15 && recovery.worker >= 0 && recovery.worker <= 15
            )
        }
        verdict.check(
            String(format: "LISTEN resumed: a new message arrived in %.2f s with a 60 s poll", probeLatency),
            probeLatency >= 0 && probeLatency < 5
        )
        verdict.check("every acknowledged message's deliveries completed, every webhook-id received", verdict.lost == 0)
        verdict.notes.append("\(acknowledged.count) publishes acknowledged, \(summary.unavailable) answered 503 while the database was down")
        if let example = summary.otherErrors.first { verdict.notes.append("first other failure: \(example)") }
        verdict.maxRSS = max(server.peakRSSMegabytes, worker.peakRSSMegabytes)
        return verdict
    }
}

/// What the publishers of the restart scenario saw.
private final class PublishLog: Sendable {
    struct Snapshot {
        var acknowledged: [String] = []
        var acknowledgedAt: [Date] = []
        var unavailable = 0
        var slowestUnavailable = 0.0
        var otherErrors: [String] = []
    }

    private let state = NIOLockedValueBox(Snapshot())

    func record(id: String?, answer: ChaosHarness.Answer) {
        state.withLockedValue { state in
            if let id {
                state.acknowledged.append(id)
                state.acknowledgedAt.append(Date())
            } else if answer.status == 503, answer.body.contains(#""error":"unavailable""#) {
                state.unavailable += 1
                state.slowestUnavailable = max(state.slowestUnavailable, answer.seconds)
            } else {
                state.otherErrors.append("\(answer.status) \(answer.body)")
            }
        }
    }

    func recordFailure(_ description: String) { state.withLockedValue { $0.otherErrors.append(description) } }
    func snapshot() -> Snapshot { state.withLockedValue { $0 } }
    var lastAcknowledged: Date { state.withLockedValue { $0.acknowledgedAt.last ?? .distantPast } }
    func firstAcknowledged(after date: Date) -> Date? { state.withLockedValue { $0.acknowledgedAt.first { $0 > date } } }
}
