import Foundation
import PostgresNIO

/// A period every time-partitioned table has a partition for (docs/storage.md).
public struct PartitionPeriod: Sendable, Equatable {
    public var startsAt: Date
    public var endsAt: Date
    /// What its partitions take on disk: tables, indexes and TOAST.
    public var bytes: Int
    /// Its deliveries still pending and its callbacks still pending: retention keeps them, with the messages they need.
    public var pendingDeliveries: Int
    public var pendingCallbacks: Int
}

/// What one retention run dropped.
public struct DroppedHistory: Sendable, Equatable {
    /// Periods whose partitions are all gone.
    public var periods = 0
    /// Bytes the dropped partitions held.
    public var bytes = 0
    /// Why it stopped before the last period, if it did: another process held the maintenance lock, or a table's lock
    /// did not come in time (the next run carries on).
    public var stoppedBecause: String?
}

extension Store {
    /// How long a retention step waits for a partitioned table's lock before it gives up and tries again: publishing
    /// and delivering wait behind it meanwhile.
    public static let partitionLockTimeout: Duration = .milliseconds(100)

    /// Makes the partitions of every interval up to `Partitioning.periodsAhead` past the current one. Returns how many
    /// periods it added, or nil when another process was making them (it is then that process's work).
    @discardableResult
    public func addPartitions(_ partitioning: Partitioning, now: Date = Date()) async throws -> Int? {
        let seconds = partitioning.interval.components.seconds
        let until = now.addingTimeInterval(Double(seconds * Int64(Partitioning.periodsAhead + 1)))
        return try await first("SELECT hammer_add_partitions(\(seconds), \(until))", committed: true) { try $0.decode(Int?.self) } ?? nil
    }

    /// The periods that end at or before `cutoff`, oldest first, with what they hold.
    public func periods(endingBy cutoff: Date) async throws -> [PartitionPeriod] {
        let query: PostgresQuery = """
            SELECT p.starts_at, p.ends_at,
                (SELECT coalesce(sum(pg_total_relation_size(to_regclass(hammer_partition_name(t, p.starts_at)))), 0)::bigint
                    FROM unnest(hammer_partitioned_tables()) t),
                (SELECT count(*) FROM delivery_queue q
                    WHERE q.status = 'pending' AND q.delivery_id >= hammer_id_bound(p.starts_at) AND q.delivery_id < hammer_id_bound(p.ends_at)),
                (SELECT count(*) FROM callbacks c
                    WHERE c.status = 'pending' AND c.id >= hammer_id_bound(p.starts_at) AND c.id < hammer_id_bound(p.ends_at))
            FROM partition_periods p
            WHERE p.ends_at <= \(cutoff)
            ORDER BY p.starts_at
            """
        return try await all(query) { row in
            let (startsAt, endsAt, bytes, deliveries, callbacks) = try row.decode((Date, Date, Int, Int, Int).self)
            return PartitionPeriod(startsAt: startsAt, endsAt: endsAt, bytes: bytes, pendingDeliveries: deliveries, pendingCallbacks: callbacks)
        }
    }

    /// Drops the partitions of every period that ends at or before `cutoff`, oldest first, each table in turn; the live
    /// rows of each (pending deliveries, the messages they need, pending callbacks) are kept with their ids and data.
    /// A step that cannot have its lock now is tried again a few times, then the run stops and says why.
    public func dropPartitions(endingBy cutoff: Date, lockTimeout: Duration = Store.partitionLockTimeout) async throws -> DroppedHistory {
        var dropped = DroppedHistory()
        let timeout = "\(max(1, lockTimeout.components.seconds * 1000 + lockTimeout.components.attoseconds / 1_000_000_000_000_000))ms"
        for period in try await periods(endingBy: cutoff) {
            for table in ["delivery_attempts", "callback_attempts", "deliveries", "messages", "callbacks"] {
                var tries = 0
                while true {
                    tries += 1
                    do {
                        let query: PostgresQuery = "SELECT hammer_drop_partition(\(table), \(period.startsAt), \(timeout))"
                        guard let bytes = try await first(query, committed: true, decode: { try $0.decode(Int?.self) }) ?? nil else {
                            dropped.stoppedBecause = "another process is maintaining the partitions"
                            return dropped
                        }
                        dropped.bytes += bytes
                        break
                    } catch  where PostgresErrorMapping.sqlState(error) == PostgresErrorMapping.lockNotAvailable {
                        guard tries < 5 else {
                            dropped.stoppedBecause = "\(table) stayed locked by other transactions; the next run carries on"
                            return dropped
                        }
                        try await Task.sleep(for: .milliseconds(100 * tries))
                    }
                }
            }
            dropped.periods += 1
        }
        return dropped
    }
}
