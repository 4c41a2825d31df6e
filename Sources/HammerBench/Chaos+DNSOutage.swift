import Foundation

extension ChaosHarness {
    /// The worker resolves through a name server stub (its own mount namespace, with a resolv.conf naming the stub)
    /// that answers `good.hammer.test` but drops every query for 40 names of another zone, and then stops answering
    /// anything. Deliveries to the good name keep arriving within a second throughout: beside the hanging look-ups,
    /// and during the outage on the answer the worker already has (in the full form the outage outlasts the answer's
    /// minute, so it is served stale while refreshes fail). The dropped names' attempts fail as `timeout` or `dns`.
    func dnsOutage(_ settings: ChaosSettings) async throws -> ChaosVerdict {
        var verdict = ChaosVerdict(scenario: "dns-outage")
        guard getuid() == 0 else {
            verdict.check("runs as root only (a mount namespace, and port 53 for the stub)", false)
            return verdict
        }
        let directory = ".local/chaos/dns"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let outage = "\(directory)/outage"
        try? FileManager.default.removeItem(atPath: outage)
        try "nameserver \(Self.stubNameServer)\noptions timeout:1 attempts:1\n".write(
            toFile: "\(directory)/resolv.conf",
            atomically: true,
            encoding: .utf8
        )
        let stub = try ChildProcess(
            name: "dns-stub",
            executable: "/usr/bin/env",
            arguments: ["python3", "scripts/dns-stub.py", Self.stubNameServer, outage],
            environment: [:],
            logPath: "\(directory)/stub.log"
        )
        defer { stub.stop() }
        try await waitUntil("the name server stub to listen", timeout: .seconds(10)) { try stubLog(directory).contains("listening") }

        let server = try await startServer()
        let worker = try await startWorker(0, resolvConf: "\(directory)/resolv.conf")
        let good = receiver.url(.ok).replacingOccurrences(of: "127.0.0.1", with: "good.hammer.test")
        try await createTopic("steady", subscriptions: [SubscriptionSpec(id: "steady", url: good)])
        let droppedNames = 40
        try await createTopic(
            "dropped",
            subscriptions: (0..<droppedNames).map {
                SubscriptionSpec(id: "dropped-\($0)", url: "http://s\($0).dropped.hammer.test:\(receiver.port)/ok", maxAttempts: 2)
            }
        )

        // The good name delivers once; then the dropped zone's look-ups hang beside it; then the name server goes away.
        var steady = try await publishAll("steady", count: 1, clients: 1)
        try await waitForCompletion("the first steady delivery", messages: steady, timeout: .seconds(30))
        _ = try await publishAll("dropped", count: 1, clients: 1)
        steady += try await publishSteadily("steady", seconds: settings.quick ? 4 : 10)
        _ = FileManager.default.createFile(atPath: outage, contents: nil)
        // Longer than the 5 s an answer used to be kept, even in the quick form.
        let outageSeconds = settings.quick ? 8 : 75
        steady += try await publishSteadily("steady", seconds: outageSeconds)
        try await waitForCompletion("every steady delivery completed", messages: steady, timeout: .seconds(60))
        try await waitUntil("the dropped names' deliveries to fail", timeout: .seconds(60)) {
            try await count("SELECT count(*) FROM deliveries WHERE topic_id = 'dropped' AND status = 'failed'") == droppedNames
        }

        let latencies = try await arrivalLatencies(topic: "steady")
        let p99 = latencies.quantile(0.99)
        verdict.check(
            String(
                format:
                    "deliveries to the good name kept flowing beside %d dropped names and through a %d s outage: %d delivered, p99 %.0f ms (bound 1,000 ms)",
                droppedNames,
                outageSeconds,
                latencies.count,
                p99 * 1000
            ),
            latencies.count == steady.count && p99 < 1
        )
        let kinds = try await db.query(
            """
            SELECT a.error_kind, count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
            WHERE d.topic_id = 'dropped' GROUP BY a.error_kind ORDER BY a.error_kind
            """,
            logger: logger
        ).collect().map { try $0.decode((String, Int).self) }
        verdict.check(
            "the dropped names' \(droppedNames * 2) attempts failed as \(kinds.map { "\($0.0) \($0.1)" }.joined(separator: ", "))",
            kinds.reduce(0) { $0 + $1.1 } == droppedNames * 2 && kinds.allSatisfy { ["timeout", "dns"].contains($0.0) }
        )
        let refreshes = try stubLog(directory).components(separatedBy: "\n").filter { $0 == "dropped good.hammer.test" }.count
        verdict.check("the good name's queries the stub dropped during the outage (refreshes): \(refreshes)", settings.quick || refreshes > 0)
        try await tally(&verdict, acknowledged: steady)
        verdict.maxRSS = max(server.peakRSSMegabytes, worker.peakRSSMegabytes)
        return verdict
    }

    /// Where the stub listens: a loopback address of its own, port 53 (resolv.conf names no port).
    static let stubNameServer = "127.53.0.1"

    private func stubLog(_ directory: String) throws -> String {
        (try? String(contentsOfFile: "\(directory)/stub.log", encoding: .utf8)) ?? ""
    }
}
