import Foundation
import PostgresNIO

extension Store {
    /// The console's overview: deliveries by status (finished ones counted up to `countLimit`), the last hour's
    /// attempts per minute, failing subscriptions.
    public func deliveryOverview(countLimit: Int = DeliveryOverview.countLimit, failingLimit: Int = 20) async throws -> DeliveryOverview {
        // Independent reads on separate connections, so the page waits for the slowest rather than for their sum.
        async let summary = pendingSummary()
        async let finished = finishedCounts(limit: countLimit)
        async let minutes = attemptsPerMinute()
        async let failing = failingSubscriptions(limit: failingLimit)
        let (pending, oldest) = try await summary
        let (completed, failed) = try await finished
        return DeliveryOverview(
            pending: pending,
            completed: completed,
            failed: failed,
            oldestPendingAge: oldest,
            minutes: try await minutes,
            failingSubscriptions: try await failing
        )
    }

    /// Completed and failed deliveries, each counted up to `limit`: they only grow, and scans that stop at the limit
    /// stay fast however many there are (the page says "10000+"). Failed ones are read from the queue's status index.
    private func finishedCounts(limit: Int) async throws -> (completed: Int, failed: Int) {
        let query: PostgresQuery = """
            SELECT (SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE status = 'completed' LIMIT \(limit)) c)::bigint,
                (SELECT count(*) FROM (SELECT 1 FROM delivery_queue WHERE status = 'failed' LIMIT \(limit)) f)::bigint
            """
        return try await first(query) { try $0.decode((Int, Int).self) } ?? (0, 0)
    }

    /// The last hour's attempts by minute and outcome, as the record statement counted them.
    private func attemptsPerMinute() async throws -> [DeliveryOverview.Minute] {
        let query: PostgresQuery = """
            SELECT minute, sum(succeeded)::bigint, sum(failed)::bigint FROM delivery_attempt_minutes
            WHERE minute > date_trunc('minute', now()) - interval '60 minutes'
            GROUP BY 1 ORDER BY 1
            """
        return try await all(query) { row in
            let (start, succeeded, failed) = try row.decode((Date, Int, Int).self)
            return DeliveryOverview.Minute(start: start, succeeded: succeeded, failed: failed)
        }
    }

    /// Disabled subscriptions, then those failing longest, with their health.
    private func failingSubscriptions(limit: Int) async throws -> [SubscriptionHealth] {
        let query: PostgresQuery = """
            SELECT id FROM subscriptions WHERE status = 'disabled' OR failing_since IS NOT NULL
            ORDER BY status = 'disabled' DESC, coalesce(failing_since, disabled_at), id LIMIT \(limit)
            """
        let ids = try await all(query) { try $0.decode(String.self) }
        let health = try await subscriptionHealth(ids: ids)
        return ids.compactMap { health[$0] }
    }

    /// Health of the given subscriptions, read from their newest deliveries (index scans per subscription, so a page
    /// of them stays fast however many deliveries there are).
    public func subscriptionHealth(ids: [String]) async throws -> [String: SubscriptionHealth] {
        guard !ids.isEmpty else { return [:] }
        let query: PostgresQuery = """
            SELECT s.id, s.status, s.disabled_reason, s.failing_since, last_success.updated_at,
                coalesce(recent.attempted, 0)::bigint, coalesce(recent.failing, 0)::bigint
            FROM subscriptions s
            LEFT JOIN LATERAL (
                SELECT d.updated_at FROM deliveries d WHERE d.subscription_id = s.id AND d.status = 'completed'
                ORDER BY d.created_at DESC, d.id DESC LIMIT 1
            ) last_success ON true
            LEFT JOIN LATERAL (
                SELECT count(*) AS attempted, count(*) FILTER (WHERE r.status <> 'completed') AS failing FROM (
                    SELECT d.status FROM deliveries d WHERE d.subscription_id = s.id AND d.delivery_attempts > 0
                    ORDER BY d.created_at DESC, d.id DESC LIMIT 100
                ) r
            ) recent ON true
            WHERE s.id = ANY(\(ids))
            """
        let rows = try await all(query) { row in
            let (id, status, reason, failingSince, lastSuccess, attempted, failing) =
                try row.decode((String, String, String?, Date?, Date?, Int, Int).self)
            return SubscriptionHealth(
                subscriptionID: id,
                status: Subscription.Status(rawValue: status) ?? .active,
                disabledReason: reason,
                failingSince: failingSince,
                lastSuccessAt: lastSuccess,
                recentAttempted: attempted,
                recentFailing: failing
            )
        }
        return Dictionary(rows.map { ($0.subscriptionID, $0) }) { first, _ in first }
    }
}
