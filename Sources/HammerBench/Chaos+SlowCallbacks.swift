import Foundation

extension ChaosHarness {
    /// A subscription whose `callback_url` never answers (each callback attempt held for its 10 s timeout) asks for
    /// `delivery.completed` on a backlog of messages, while a steady topic publishes to a well-behaved endpoint: the
    /// callbacks hold no more than their pool (a quarter of the worker's 64 slots), the watched subscription's own
    /// deliveries all complete, and the steady deliveries keep arriving within a second.
    func slowCallbacks(_ settings: ChaosSettings) async throws -> ChaosVerdict {
        var verdict = ChaosVerdict(scenario: "slow-callbacks")
        let server = try await startServer()
        let worker = try await startWorker(0)
        let watchedCount = settings.quick ? 100 : 300
        try await createTopic(
            "watched",
            subscriptions: [
                SubscriptionSpec(
                    id: "watched",
                    url: receiver.url(.ok),
                    timeout: 10,
                    callbackURL: receiver.url(.hold),
                    callbackEvents: ["delivery.completed"]
                )
            ]
        )
        try await createTopic("steady", subscriptions: [SubscriptionSpec(id: "steady", url: receiver.url(.ok))])
        let started = ContinuousClock.now
        let watched = try await publishAll("watched", count: watchedCount, clients: 4)
        try await waitUntil("callbacks to hang at their receiver", timeout: .seconds(30)) { receiver.mostHeldAtOnce > 0 }

        let steadySeconds = settings.quick ? 5 : 12
        let steady = try await publishSteadily("steady", seconds: steadySeconds)
        try await waitForCompletion("every watched delivery completed", messages: watched, timeout: .seconds(60))
        let watchedSeconds = (ContinuousClock.now - started).inSeconds
        try await waitForCompletion("every steady delivery completed", messages: steady, timeout: .seconds(60))

        let latencies = try await arrivalLatencies(topic: "steady")
        let p99 = latencies.quantile(0.99)
        verdict.check(
            String(format: "steady deliveries kept flowing: %d delivered, publish→arrival p99 %.0f ms (bound 1,000 ms)", latencies.count, p99 * 1000),
            latencies.count == steady.count && p99 < 1
        )
        verdict.check(
            String(format: "the watched subscription's %d deliveries all completed in %.1f s (bound 60 s)", watchedCount, watchedSeconds),
            watchedSeconds < 60
        )
        let held = receiver.mostHeldAtOnce
        let pending = try await count("SELECT count(*) FROM callbacks WHERE status = 'pending'")
        verdict.check(
            "hanging callbacks held at most \(held) send slots at once (their pool: 16 of 64); \(pending) callbacks still wait their turn",
            held > 0 && held <= 16
        )
        try await tally(&verdict, acknowledged: watched + steady)
        verdict.maxRSS = max(server.peakRSSMegabytes, worker.peakRSSMegabytes)
        return verdict
    }
}
