import Foundation
import PostgresNIO

extension ChaosHarness {
    /// One subscription per hostile behaviour (3 attempts, 1 s delay, 2 s timeout) while a steady topic keeps
    /// publishing to a well-behaved endpoint: each hostile attempt is recorded with the right error kind and retried
    /// per policy, the 1 GiB body is cut at the cap, and the steady deliveries keep flowing meanwhile. A backlog to
    /// an endpoint that never answers holds no more than its share of the worker's send slots. The endpoint answering
    /// `410 Gone` disables its subscription at once; its deliveries wait.
    func hostileReceivers(_ settings: ChaosSettings) async throws -> ChaosVerdict {
        var verdict = ChaosVerdict(scenario: "hostile-receivers")
        let server = try await startServer()
        let worker = try await startWorker(0)
        typealias Behaviour = ChaosReceiver.Behaviour
        let hostile: [Behaviour] = [.never, .slow, .stalled, .reset, .huge, .malformed, .redirect, .gone, .ratelimit]
        try await createTopic("hostile", subscriptions: hostile.map { SubscriptionSpec(id: $0.rawValue, url: receiver.url($0), maxAttempts: 3) })
        try await createTopic("steady", subscriptions: (0..<2).map { SubscriptionSpec(id: "steady-\($0)", url: receiver.url(.ok)) })
        try await createTopic("backlog", subscriptions: [SubscriptionSpec(id: "backlog", url: receiver.url(.hold), maxAttempts: 1)])

        let hostileMessages = settings.quick ? 2 : 5
        // The worker runs at the default concurrency (64), so a subscription's share is 16 slots.
        let backlogMessages = settings.quick ? 64 : 200
        let share = 16
        _ = try await publishAll("backlog", count: backlogMessages, clients: 4)
        _ = try await publishAll("hostile", count: hostileMessages, clients: 1)
        // 50 steady messages a second while the hostile deliveries run their three attempts (about 10 s).
        let steadySeconds = settings.quick ? 6 : 12
        let steady = try await publishSteadily("steady", seconds: steadySeconds)
        try await waitUntil("every hostile delivery finished (but those of the disabled /gone)", timeout: .seconds(120)) {
            try await count(
                "SELECT count(*) FROM deliveries WHERE topic_id IN ('hostile', 'backlog') AND subscription_id <> 'gone' AND status = 'pending'"
            ) == 0
        }
        try await waitForCompletion("every steady delivery completed", messages: steady, timeout: .seconds(60))

        // Steady deliveries: publish (created_at) to first arrival, while the hostile endpoints misbehaved.
        let latencies = try await arrivalLatencies(topic: "steady")
        let p99 = latencies.quantile(0.99)
        verdict.check(
            String(format: "steady deliveries kept flowing: %d delivered, publish→arrival p99 %.0f ms (bound 1,000 ms)", latencies.count, p99 * 1000),
            latencies.count == steady.count * 2 && p99 < 1
        )
        let backlogTimeouts = try await count(
            "SELECT count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.subscription_id = 'backlog' AND a.error_kind = 'timeout'"
        )
        // Counted by the endpoint: its open requests, not the leases, which also cover sends that ended and are not
        // recorded yet (a loaded machine records later, and the leases then overstate the slots).
        let backlogHeld = receiver.mostHeldAtOnce
        verdict.check(
            "a \(backlogMessages)-deep backlog to an endpoint that never answers held at most \(backlogHeld) send slots (its share: \(share) of 64); \(backlogTimeouts) timed out",
            backlogHeld <= share && backlogHeld > 0 && backlogTimeouts == backlogMessages
        )

        let expectations: [(Behaviour, kind: String, status: Int, finalStatus: String, attempts: Int)] = [
            (.never, "timeout", 0, "failed", 3), (.slow, "timeout", 0, "failed", 3), (.stalled, "timeout", 0, "failed", 3),
            (.reset, "connection_reset", 0, "failed", 3),
            (.huge, "", 200, "completed", 1), (.malformed, "invalid_response", 0, "failed", 3), (.redirect, "http_status", 302, "failed", 3),
            (.ratelimit, "http_status", 429, "failed", 3),
        ]
        for (behaviour, kind, status, finalStatus, attempts) in expectations {
            let rows = try await db.query(
                """
                SELECT d.id, d.status, a.error_kind, a.response_status_code, a.execution_duration, a.response,
                    (extract(epoch FROM a.created_at) * 1000)::bigint
                FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id
                WHERE d.subscription_id = \(behaviour.rawValue) ORDER BY d.id, a.created_at
                """,
                logger: logger
            ).collect()
            let attemptRows = try rows.map { try $0.decode((String, String, String, Int, Int, String, Int64).self) }
            let byDelivery = Dictionary(grouping: attemptRows, by: \.0)
            let kinds = Set(attemptRows.map(\.2))
            let statuses = Set(attemptRows.map(\.3))
            var holds =
                byDelivery.count == hostileMessages
                && byDelivery.values.allSatisfy { $0.count == attempts && $0.allSatisfy { $0.1 == finalStatus } }
                && kinds == [kind] && statuses == [status]
            var detail =
                "\(byDelivery.count) deliveries \(finalStatus) after \(attempts) attempt(s), kinds \(kinds.sorted()), status \(statuses.sorted())"
            // Attempt n + 1 is due delay × 2^(n-1) ± 20% after attempt n ends; Retry-After: 2 raises the first gap to 2 s.
            let minimumGaps: [Double] = behaviour == .ratelimit ? [2, 2] : [0.8, 1.6]
            for attempts in byDelivery.values where attempts.count > 1 {
                for (index, pair) in zip(attempts, attempts.dropFirst()).enumerated() {
                    let gap = Double(pair.1.6 - pair.0.6) / 1000
                    if gap < minimumGaps[min(index, 1)] * 0.95 {
                        holds = false
                        detail += String(format: ", gap %.2f s too short", gap)
                    }
                }
            }
            switch behaviour {
            case .never, .slow, .stalled:
                let durations = attemptRows.map(\.4)
                detail += ", durations \(durations.min() ?? 0)–\(durations.max() ?? 0) ms"
                holds = holds && durations.allSatisfy { $0 >= 1900 && $0 < 4000 }
            case .huge:
                let truncated = attemptRows.allSatisfy { $0.5.contains("[truncated") }
                detail +=
                    ", body cut at the cap (\(truncated)), receiver wrote \(receiver.hugeBytesSent / 1024) KiB of \(ChaosReceiver.hugeBodyBytes >> 20) MiB"
                holds = holds && truncated && receiver.hugeBytesSent < ChaosReceiver.hugeBodyBytes / 8
            case .redirect:
                detail += ", redirect target hit \(receiver.count(.redirected)) times"
                holds = holds && receiver.count(.redirected) == 0
            default:
                break
            }
            verdict.check("/\(behaviour.rawValue): \(detail)", holds)
        }
        let gone = try await db.query(
            """
            SELECT s.status, coalesce(s.disabled_reason, ''),
                (SELECT count(*) FROM deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending' AND d.delivery_attempts <= 1),
                (SELECT count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
                    WHERE d.subscription_id = s.id AND a.response_status_code = 410)
            FROM subscriptions s WHERE s.id = 'gone'
            """,
            logger: logger
        ).collect().first?.decode((String, String, Int, Int).self)
        verdict.check(
            "/gone: the first 410 disabled the subscription (\(gone?.0 ?? "?"): \(gone?.1 ?? "")); its \(gone?.2 ?? 0) deliveries wait pending, "
                + "\(gone?.3 ?? 0) attempt(s) answered 410",
            gone?.0 == "disabled" && gone?.1 == "the endpoint answered 410 Gone" && gone?.2 == hostileMessages && (gone?.3 ?? 0) >= 1
        )
        try await tally(&verdict, acknowledged: steady)
        verdict.maxRSS = max(server.peakRSSMegabytes, worker.peakRSSMegabytes)
        verdict.check(
            String(format: "worker peak RSS %.0f MB with a 1 GiB response in flight (bound 150 MB)", worker.peakRSSMegabytes),
            worker.peakRSSMegabytes < 150
        )
        return verdict
    }
}
