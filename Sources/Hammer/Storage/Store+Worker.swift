import Foundation
import PostgresNIO

extension Store {
    /// Claims up to `limit` due deliveries in one statement: subscriptions in the order of their oldest due
    /// delivery, each up to its free send slots (`maxInFlight` less what this worker has in flight to it, from
    /// `inFlight`), oldest `scheduled_at` first within each. Rows are locked with SKIP LOCKED, leased until
    /// `timeout + leaseMargin` seconds from now (`leased_until`), and the statement commits at once, so no lock or
    /// transaction is held while sending. Deliveries in `held` (this worker's, even with a lapsed lease) are skipped.
    public func claimDueDeliveries(
        limit: Int, leaseMargin: Int, maxInFlight: Int, inFlight: [String: Int] = [:], held: [String] = []
    ) async throws -> [ClaimedDelivery] {
        try await execute(ClaimStatement(limit: limit, leaseMargin: leaseMargin, maxInFlight: maxInFlight, inFlight: inFlight, held: held))
    }

    /// The state a delivery moves to after an attempt.
    public struct DeliveryOutcome: Sendable {
        public var result: AttemptResult
        public var status: Delivery.Status
        /// Seconds until the next attempt when `status` is pending.
        public var retryDelay: Double

        public init(result: AttemptResult, status: Delivery.Status, retryDelay: Double) {
            self.result = result
            self.status = status
            self.retryDelay = retryDelay
        }
    }

    /// Records many attempts and their deliveries' new states in one statement (one transaction).
    /// A delivery whose lease was lost (taken over after expiry) keeps its state; its attempt is still recorded.
    public func recordOutcomes(_ outcomes: [DeliveryOutcome]) async throws {
        guard !outcomes.isEmpty else { return }
        _ = try await execute(RecordStatement(outcomes: outcomes))
    }

    /// Ends the leases of deliveries not sent, so another worker takes them at once (graceful shutdown).
    public func releaseLeases(_ deliveries: [ClaimedDelivery]) async throws {
        guard !deliveries.isEmpty else { return }
        let query: PostgresQuery = """
            UPDATE deliveries d SET leased_until = NULL
            FROM unnest(\(deliveries.map(\.id))::text[], \(deliveries.map(\.lease))::bigint[]) AS r(id, lease)
            WHERE d.id = r.id AND d.status = 'pending' AND (extract(epoch FROM d.leased_until) * 1000000)::bigint = r.lease
            """
        try await client.query(query, logger: logger)
    }
}

/// The claim, prepared once per connection: per subscription with a free send slot, one index probe for its oldest
/// due delivery; the subscriptions whose oldest is oldest share `$1` rows, each up to its free slots; those rows are
/// locked (SKIP LOCKED) and leased in the same statement. A subscription at its cap costs one probe, whatever its
/// backlog.
struct ClaimStatement: PostgresPreparedStatement {
    typealias Row = ClaimedDelivery

    static let sql = """
        WITH in_flight AS (
            SELECT * FROM unnest($3::text[], $4::int[]) AS f(subscription_id, sends)
        ), candidate AS (
            SELECT s.id, head.scheduled_at AS head, $5::int - coalesce(f.sends, 0) AS room
            FROM subscriptions s
            LEFT JOIN in_flight f ON f.subscription_id = s.id
            CROSS JOIN LATERAL (
                SELECT d.scheduled_at FROM deliveries d
                WHERE d.subscription_id = s.id AND d.status = 'pending' AND d.scheduled_at <= now()
                    AND (d.leased_until IS NULL OR d.leased_until <= now()) AND d.id <> ALL($6::text[])
                ORDER BY d.scheduled_at
                LIMIT 1
            ) head
            WHERE coalesce(f.sends, 0) < $5::int
            ORDER BY head.scheduled_at, s.id
            LIMIT $1
        ), share AS (
            SELECT id, least(room, $1 - coalesce(sum(room) OVER (ORDER BY head, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)) AS take
            FROM candidate
        ), due AS (
            SELECT picked.id FROM share CROSS JOIN LATERAL (
                SELECT d.id FROM deliveries d
                WHERE d.subscription_id = share.id AND d.status = 'pending' AND d.scheduled_at <= now()
                    AND (d.leased_until IS NULL OR d.leased_until <= now()) AND d.id <> ALL($6::text[])
                ORDER BY d.scheduled_at
                LIMIT greatest(share.take, 0)
                FOR UPDATE SKIP LOCKED
            ) picked
        )
        UPDATE deliveries d
        SET leased_until = date_trunc('milliseconds', now()) + make_interval(secs => d.delivery_attempt_timeout + $2)
        FROM due, messages m
        WHERE d.id = due.id AND m.id = d.message_id
        RETURNING d.id, d.topic_id, d.subscription_id, d.message_id, m.content_type, m.data, m.created_at, d.url, d.secret_token,
            d.max_delivery_attempts, d.delivery_attempt_delay, d.delivery_attempt_timeout, d.delivery_attempts,
            (extract(epoch FROM d.leased_until) * 1000000)::bigint
        """

    let limit: Int
    let leaseMargin: Int
    let maxInFlight: Int
    let inFlight: [String: Int]
    let held: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 6)
        bindings.append(limit)
        bindings.append(leaseMargin)
        bindings.append(Array(inFlight.keys))
        bindings.append(inFlight.values.map { Int32(clamping: $0) })
        bindings.append(maxInFlight)
        bindings.append(held)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> ClaimedDelivery {
        let (id, topicID, subscriptionID, messageID, contentType, data, publishedAt, url, secret, maxAttempts, delay, timeout, attempts, lease) =
            try row.decode((String, String, String, String, String, String, Date, String, String, Int, Int, Int, Int, Int64).self)
        return ClaimedDelivery(
            id: id, topicID: topicID, subscriptionID: subscriptionID, messageID: messageID, contentType: contentType, dataBase64: data,
            publishedAt: publishedAt, url: url, secretToken: secret, maxDeliveryAttempts: maxAttempts, deliveryAttemptDelay: delay,
            deliveryAttemptTimeout: timeout, deliveryAttempts: attempts, lease: lease)
    }
}

/// Many attempts and their deliveries' new states in one prepared statement (one transaction). A delivery whose
/// lease was lost (taken over after expiry) keeps its state; its attempt is still recorded.
struct RecordStatement: PostgresPreparedStatement {
    typealias Row = Int

    static let sql = """
        WITH outcome AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::bool[], $8::text[], $9::text[],
                $10::text[], $11::bigint[], $12::bigint[]
            ) AS o(delivery_id, attempt_id, request, response, status_code, duration, success, error, error_kind, new_status, retry_delay_ms, lease)
            WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = o.delivery_id)
        ), attempt AS (
            INSERT INTO delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, error, error_kind)
            SELECT attempt_id, delivery_id, request, response, status_code, duration, success, error, error_kind FROM outcome
            -- A retry of a write that committed but whose answer was lost (timeout) changes nothing.
            ON CONFLICT (id) DO NOTHING
        ), updated AS (
            UPDATE deliveries d SET
                status = o.new_status,
                delivery_attempts = d.delivery_attempts + 1,
                scheduled_at = CASE WHEN o.new_status = 'pending' THEN now() + o.retry_delay_ms * interval '1 millisecond' ELSE d.scheduled_at END,
                leased_until = NULL,
                updated_at = now()
            FROM outcome o
            WHERE d.id = o.delivery_id AND d.status = 'pending'
                AND (extract(epoch FROM d.leased_until) * 1000000)::bigint = o.lease
            RETURNING 1
        )
        SELECT count(*)::int FROM updated
        """

    let outcomes: [Store.DeliveryOutcome]

    func makeBindings() throws -> PostgresBindings {
        let results = outcomes.map(\.result)
        var bindings = PostgresBindings(capacity: 12)
        bindings.append(results.map(\.delivery.id))
        bindings.append(results.map(\.attemptID))
        bindings.append(results.map(\.request))
        bindings.append(results.map(\.response))
        bindings.append(results.map { Int32($0.statusCode) })
        bindings.append(results.map { Int32(clamping: $0.durationMilliseconds) })
        bindings.append(results.map(\.success))
        bindings.append(results.map(\.error))
        bindings.append(results.map { $0.errorKind?.rawValue ?? "" })
        bindings.append(outcomes.map(\.status.rawValue))
        bindings.append(outcomes.map { Int64(($0.retryDelay * 1000).rounded()) })
        bindings.append(results.map(\.delivery.lease))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int {
        try row.decode(Int.self)
    }
}
