import Foundation

extension ChaosHarness {
    /// A day of history 40 days old is dropped while clients publish steadily and a worker delivers: a worker started
    /// with `HAMMER_RETENTION=30d` drops it in its first round of upkeep. That day holds completed deliveries and, for
    /// two subscriptions, a tenth still pending: one subscription active (its old deliveries are being sent while the
    /// day goes), one disabled (its old deliveries wait through the drop and are sent once it is enabled again).
    /// Publishing answers every request, every acknowledged message is delivered, the day's partitions are gone, and
    /// every pending delivery of that day reaches the receiver.
    func retentionUnderLoad(_ settings: ChaosSettings) async throws -> ChaosVerdict {
        var verdict = ChaosVerdict(scenario: "retention-under-load")
        let server = try await startServer()
        try await createTopic("steady", subscriptions: [SubscriptionSpec(id: "steady", url: receiver.url(.ok))])
        try await createTopic(
            "history",
            subscriptions: [
                SubscriptionSpec(id: "history-live", url: receiver.url(.ok)), SubscriptionSpec(id: "history-paused", url: receiver.url(.ok)),
            ]
        )
        guard try await post("/v1/subscriptions/history-paused/disable", "{}").status == 200 else {
            throw BenchError("cannot disable history-paused")
        }
        let messages = settings.quick ? 20_000 : 100_000
        for statement in PastHistory.statements(daysAgo: 40, topic: "history", messages: messages, pendingEvery: 10) {
            try await db.query(statement, logger: logger)
        }
        let pendingLive = try await pendingDeliveries("history-live")
        let pendingPaused = try await pendingDeliveries("history-paused")
        let worker = try await startWorker(0)

        let seconds = settings.quick ? 6 : 15
        async let steadyIDs = publishSteadily("steady", seconds: seconds)
        try await Task.sleep(for: .seconds(1))
        let upkeeper = try await startWorker(1, ["HAMMER_RETENTION": "30d"])
        try await waitUntil("the day's partitions to be dropped", timeout: .seconds(60)) {
            try await db.query(PastHistory.partitionsLeft(daysAgo: 40), logger: logger).collect().first?.decode(Int.self) == 0
        }
        let steady = try await steadyIDs
        verdict.check("publishing answered every request while the day went: \(steady.count) of \(seconds * 50)", steady.count == seconds * 50)
        try await waitForCompletion("every steady delivery completed", messages: steady, timeout: .seconds(60))
        let keptPaused = try await count("SELECT count(*) FROM deliveries_kept WHERE subscription_id = 'history-paused'")
        verdict.check(
            "the disabled subscription's \(pendingPaused.count) pending deliveries of that day were kept through the drop (\(keptPaused) kept)",
            keptPaused == pendingPaused.count
        )
        guard try await post("/v1/subscriptions/history-paused/enable", "{}").status == 200 else { throw BenchError("cannot enable history-paused") }
        try await waitUntil("the day's pending deliveries to be sent", timeout: .seconds(120)) {
            try await count("SELECT count(*) FROM delivery_queue WHERE subscription_id LIKE 'history-%'") == 0
        }
        let arrived = receiver.okCounts()
        let missing = (pendingLive + pendingPaused).filter { arrived[$0] == nil }.count
        verdict.check(
            "every pending delivery of the dropped day reached the receiver: \(pendingLive.count) sent during the drop, "
                + "\(pendingPaused.count) after enabling; \(missing) missing",
            missing == 0
        )
        // Those sent before their day was dropped went with it, as finished history; every other one is completed.
        let unfinished = try await count("SELECT count(*) FROM deliveries WHERE subscription_id LIKE 'history-%' AND status <> 'completed'")
        let pausedDone = try await count("SELECT count(*) FROM deliveries WHERE subscription_id = 'history-paused' AND status = 'completed'")
        verdict.check(
            "none of them is left unfinished (\(unfinished)), the disabled subscription's all completed (\(pausedDone))",
            unfinished == 0 && pausedDone == pendingPaused.count
        )
        try await tally(&verdict, acknowledged: steady)
        verdict.lost += missing
        verdict.maxRSS = max(server.peakRSSMegabytes, worker.peakRSSMegabytes, upkeeper.peakRSSMegabytes)
        return verdict
    }

    private func pendingDeliveries(_ subscription: String) async throws -> [String] {
        try await db.query("SELECT delivery_id FROM delivery_queue WHERE subscription_id = \(subscription)", logger: logger).collect()
            .map { try $0.decode(String.self) }
    }
}
