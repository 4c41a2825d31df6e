import Foundation
import PostgresNIO

/// Which finished deliveries `hammer redeliver` sends again.
public struct RedeliveryFilter: Sendable {
    /// Only these deliveries, when not empty.
    public var ids: [String] = []
    public var subscriptionID: String?
    /// Finished statuses to match (`failed`, `completed` or both).
    public var statuses: [Delivery.Status] = [.failed]
    /// Bounds on the delivery's last change (`updated_at`): `since` inclusive, `until` exclusive.
    public var since: Date?
    public var until: Date?

    public init(ids: [String] = [], subscriptionID: String? = nil, statuses: [Delivery.Status] = [.failed], since: Date? = nil, until: Date? = nil) {
        self.ids = ids
        self.subscriptionID = subscriptionID
        self.statuses = statuses
        self.since = since
        self.until = until
    }

    /// The filter as SQL conditions on `deliveries d`, its values appended to `bindings`.
    fileprivate func condition(_ bindings: inout PostgresBindings) -> String {
        func parameter(_ value: some PostgresNonThrowingEncodable & Sendable) -> String {
            bindings.append(value)
            return "$\(bindings.count)"
        }
        var conditions = ["d.status = ANY(\(parameter(statuses.map(\.rawValue)))::text[])"]
        if let until { conditions.append("d.updated_at < \(parameter(until))") }
        if let since { conditions.append("d.updated_at >= \(parameter(since))") }
        if let subscriptionID { conditions.append("d.subscription_id = \(parameter(subscriptionID))") }
        if !ids.isEmpty { conditions.append("d.id = ANY(\(parameter(ids))::text[])") }
        return conditions.joined(separator: " AND ")
    }
}

extension Store {
    // A redelivery starts a fresh round: the attempt count restarts at 0 (the attempt history keeps every
    // earlier attempt) and the subscription's current settings apply, so fixing an
    // endpoint and then redelivering works. The webhook-id (the delivery id) stays the same.
    private static let redeliverySet = """
        status = 'pending', scheduled_at = now(), leased_until = NULL, delivery_attempts = 0, updated_at = now(),
        url = s.url, max_delivery_attempts = s.max_delivery_attempts,
        delivery_attempt_delay = s.delivery_attempt_delay, delivery_attempt_timeout = s.delivery_attempt_timeout
        """

    /// Sends a failed or completed delivery again; a pending one is refused (`delivery_is_pending`, 409).
    public func redeliver(id: String) async throws -> Delivery {
        if try await redeliver(RedeliveryFilter(ids: [id], statuses: [.failed, .completed]), limit: 1) == 0 {
            let current = try await delivery(id: id)
            throw HammerError(
                .failedPrecondition,
                "delivery_is_pending",
                "delivery \"\(current.id)\" is pending: attempt \(current.deliveryAttempts + 1) is due at \(Timestamp.format(current.scheduledAt))"
            )
        }
        return try await delivery(id: id)
    }

    /// How many deliveries `filter` matches now.
    public func countRedeliverable(_ filter: RedeliveryFilter) async throws -> Int {
        var bindings = PostgresBindings()
        let condition = filter.condition(&bindings)
        return try await first(PostgresQuery(unsafeSQL: "SELECT count(*) FROM deliveries d WHERE \(condition)", binds: bindings)) {
            try $0.decode(Int.self)
        } ?? 0
    }

    /// Makes at most `limit` deliveries matching `filter` pending again, oldest change first; returns how many.
    /// Redelivered rows leave the filter (their `updated_at` moves past `until`), so calling it again takes the next batch.
    public func redeliver(_ filter: RedeliveryFilter, limit: Int) async throws -> Int {
        var bindings = PostgresBindings()
        let condition = filter.condition(&bindings)
        bindings.append(limit)
        let sql = """
            WITH picked AS (
                SELECT d.id FROM deliveries d WHERE \(condition) ORDER BY d.updated_at, d.id LIMIT $\(bindings.count) FOR UPDATE
            ), updated AS (
                UPDATE deliveries d SET \(Self.redeliverySet)
                FROM picked, subscriptions s
                WHERE d.id = picked.id AND s.id = d.subscription_id
                RETURNING d.id, d.subscription_id, d.created_at, d.message_id, d.topic_id
            ), queued AS (
                -- A failed delivery is still in the queue, a completed one is not.
                INSERT INTO delivery_queue (delivery_id, subscription_id, scheduled_at, created_at, message_id, topic_id, message_bytes)
                SELECT u.id, u.subscription_id, now(), u.created_at, u.message_id, u.topic_id, octet_length(m.data)
                FROM updated u JOIN messages m ON m.id = u.message_id
                ON CONFLICT (delivery_id) DO UPDATE SET status = 'pending', scheduled_at = now(), leased_until = NULL, delivery_attempts = 0
            ), notified AS (
                SELECT pg_notify('\(Store.deliveriesChannel)', '') WHERE EXISTS (SELECT 1 FROM updated)
            )
            SELECT count(*)::bigint FROM updated WHERE (SELECT count(*) FROM notified) >= 0
            """
        return try await first(PostgresQuery(unsafeSQL: sql, binds: bindings), committed: true) { try $0.decode(Int.self) } ?? 0
    }
}
