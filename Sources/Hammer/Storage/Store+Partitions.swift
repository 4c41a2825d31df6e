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
    /// How long a retention step first waits for a partitioned table's lock before it gives up and tries again:
    /// publishing and delivering wait behind it meanwhile, so the wait is about as long as one of their statements.
    public static let partitionLockTimeout: Duration = .milliseconds(50)

    /// Makes the partitions of every interval up to `Partitioning.periodsAhead` past the current one. Returns how many
    /// periods it added, or nil when another process was making them and `wait` is false (it is then that process's
    /// work); with `wait`, it waits for that process and then makes what is still missing.
    @discardableResult
    public func addPartitions(_ partitioning: Partitioning, now: Date = Date(), wait: Bool = false) async throws -> Int? {
        let seconds = partitioning.interval.components.seconds
        let until = now.addingTimeInterval(Double(seconds * Int64(Partitioning.periodsAhead + 1)))
        let lockTimeout = wait ? "10s" : "1s"
        return try await first("SELECT hammer_add_partitions(\(seconds), \(until), \(wait), \(lockTimeout))", committed: true) {
            try $0.decode(Int?.self)
        } ?? nil
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

    /// Drops the partitions of `droppablePeriods(endingBy: cutoff)`: see `dropPartitions(_:lockTimeout:)`.
    public func dropPartitions(endingBy cutoff: Date, lockTimeout: Duration = Store.partitionLockTimeout) async throws -> DroppedHistory {
        try await dropPartitions(droppablePeriods(endingBy: cutoff), lockTimeout: lockTimeout)
    }

    /// Drops the partitions of `periods` (from `droppablePeriods`), oldest first, each table in turn; the live rows of
    /// each (pending deliveries, the messages they need, pending callbacks) are kept with their ids and data. Each
    /// table takes four short transactions: the kept partition loses what is no longer live and gets a constraint,
    /// the constraint is validated without blocking anyone, the period's partition is detached under the parent's
    /// lock, and then dropped.
    /// A step waits at most `lockTimeout` for a lock that would hold up publishing and delivering; one that does not
    /// get it, or finds another process maintaining the partitions, is tried again seven times after a pause: three
    /// times waiting as long, then twice as long each time, up to 500 ms (a statement running longer than the wait
    /// holds the lock until it ends); then the run stops and says why.
    public func dropPartitions(_ periods: [PartitionPeriod], lockTimeout: Duration = Store.partitionLockTimeout) async throws -> DroppedHistory {
        var dropped = DroppedHistory()
        let milliseconds = max(1, Int(lockTimeout.wholeMilliseconds))
        // In the order the schema names them: history before the rows it depends on, deliveries before messages.
        let tables = try await all("SELECT unnest(hammer_partitioned_tables())") { try $0.decode(String.self) }
        for period in periods {
            for table in tables {
                let start = period.startsAt
                guard
                    let check = try await step(
                        table,
                        milliseconds,
                        &dropped,
                        String.self,
                        { "SELECT hammer_prepare_kept_partition(\(table), \(start), \($0))" }
                    ),
                    try await step(
                        table,
                        milliseconds,
                        &dropped,
                        Bool.self,
                        { "SELECT true FROM hammer_validate_kept_partition(\(table), \(check), \($0))" }
                    )
                        != nil,
                    let bytes = try await step(
                        table,
                        milliseconds,
                        &dropped,
                        Int.self,
                        { "SELECT hammer_drop_partition(\(table), \(start), \($0))" }
                    ),
                    // Its files go after the parent's lock, in a transaction that locks nothing anyone else uses.
                    try await step(
                        table,
                        milliseconds,
                        &dropped,
                        Bool.self,
                        { _ in "SELECT hammer_drop_detached_partition(\(table), \(start))" }
                    ) != nil
                else { return dropped }
                dropped.bytes += bytes
            }
            dropped.periods += 1
        }
        return dropped
    }

    /// The periods `dropPartitions(endingBy:)` drops: those that end by `cutoff` and by now, but the newest (new rows
    /// must always have a place).
    public func droppablePeriods(endingBy cutoff: Date) async throws -> [PartitionPeriod] {
        let periods = try await periods(endingBy: min(cutoff, Date()))
        let newest = try await first("SELECT max(ends_at) FROM partition_periods") { try $0.decode(Date?.self) } ?? nil
        return periods.filter { $0.endsAt != newest }
    }

    /// The value of one retention step, `query` given the lock timeout to use (`milliseconds` four times, then doubled
    /// at each try, at most 500 ms); nil (with the reason in `dropped`) when the step answered NULL (another process
    /// maintaining the partitions) or met a locked table or a deadlock, eight times in a row.
    private func step<Value: PostgresDecodable & Sendable>(
        _ table: String,
        _ milliseconds: Int,
        _ dropped: inout DroppedHistory,
        _ type: Value.Type,
        _ query: (String) -> PostgresQuery
    ) async throws -> Value? where Value._DecodableType == Value {
        let tries = 8
        for attempt in 0..<tries {
            do {
                // Short waits first: each holds up the publishes queued behind it. Never as long as PostgreSQL's
                // deadlock_timeout (1 s by default): waiting in a cycle with a publish or a claim, this step gives up
                // first, and they go on.
                let timeout = "\(min(milliseconds << max(0, attempt - 3), 500))ms"
                if let value = try await first(query(timeout), committed: true, decode: { try $0.decode(Value?.self) }) ?? nil { return value }
                dropped.stoppedBecause = "another process is maintaining the partitions"
            } catch  where PostgresErrorMapping.sqlState(error) == PostgresErrorMapping.lockNotAvailable || PostgresErrorMapping.isConflict(error) {
                dropped.stoppedBecause = "\(table) stayed locked by other transactions; the next run carries on"
            }
            if attempt < tries - 1 { try await Task.sleep(for: .milliseconds(100 * (attempt + 1))) }
        }
        return nil
    }
}
