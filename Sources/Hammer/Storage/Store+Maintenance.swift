import Foundation
import PostgresNIO

extension Store {
    /// Deletes the idempotency keys that have expired (`HAMMER_IDEMPOTENCY_TTL`); returns how many went.
    public func deleteExpiredIdempotencyKeys() async throws -> Int {
        let query: PostgresQuery = """
            WITH deleted AS (DELETE FROM idempotency_keys WHERE expires_at <= now() RETURNING 1) SELECT count(*) FROM deleted
            """
        return try await first(query, committed: true) { try $0.decode(Int.self) } ?? 0
    }

    /// Deletes the console chart's per-minute attempt counts older than a day; returns how many rows went.
    public func deleteOldAttemptMinutes() async throws -> Int {
        let query: PostgresQuery = """
            WITH deleted AS (DELETE FROM delivery_attempt_minutes WHERE minute < now() - interval '1 day' RETURNING 1)
            SELECT count(*) FROM deleted
            """
        return try await first(query, committed: true) { try $0.decode(Int.self) } ?? 0
    }

    /// Deliveries in `status` whose last change is at or after `since`.
    public func countDeliveries(status: Delivery.Status, since: Date) async throws -> Int {
        let query: PostgresQuery = "SELECT count(*) FROM deliveries WHERE status = \(status.rawValue) AND updated_at >= \(since)"
        return try await first(query) { try $0.decode(Int.self) } ?? 0
    }
}
