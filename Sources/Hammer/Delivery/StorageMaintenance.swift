import Foundation
import Logging
import ServiceLifecycle

/// A worker process's upkeep of the database (docs/storage.md): the time partitions of the next intervals made ahead,
/// the history past `HAMMER_RETENTION` dropped a partition at a time, expired idempotency keys and the console's old
/// per-minute counts deleted. Every worker runs it; a lock in the database lets one of them do a round's partition
/// work at a time, and the others find nothing left to do.
public struct StorageMaintenance: Service {
    let store: Store
    let partitioning: Partitioning
    let logger: Logger
    /// Time between rounds: a quarter of the partition interval, at most 10 minutes, so partitions are made long before
    /// they are needed and a retention cutoff is acted on soon after it passes a period's end.
    let every: Duration

    public init(store: Store, partitioning: Partitioning, logger: Logger, every: Duration? = nil) {
        self.store = store
        self.partitioning = partitioning
        self.logger = logger
        self.every = every ?? min(partitioning.interval / 4, .seconds(600))
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await round()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: every) }
        }
    }

    /// One round of upkeep; a step that fails is logged and tried again next round.
    public func round(now: Date = Date()) async {
        do {
            if let added = try await store.addPartitions(partitioning, now: now), added > 0 {
                logger.info("partitions made ahead", metadata: ["hammer.partitions.periods": "\(added)"])
            }
            if let cutoff = partitioning.retentionCutoff(now: now) {
                let dropped = try await store.dropPartitions(endingBy: cutoff)
                if dropped.periods > 0 {
                    logger.info(
                        "history past the retention dropped",
                        metadata: ["hammer.partitions.periods": "\(dropped.periods)", "hammer.partitions.bytes": "\(dropped.bytes)"]
                    )
                }
                if let reason = dropped.stoppedBecause {
                    logger.notice("retention stopped early; the next round carries on", metadata: ["reason": "\(reason)"])
                }
            }
            _ = try await store.deleteExpiredIdempotencyKeys()
            _ = try await store.deleteOldAttemptMinutes()
        } catch {
            logger.warning("storage upkeep failed; trying again next round", metadata: ["error": "\(PostgresErrorMapping.logDescription(error))"])
        }
    }
}
