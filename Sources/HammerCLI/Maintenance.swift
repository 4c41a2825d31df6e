import ArgumentParser
import Foundation
import Hammer

/// A positive age with its unit (`30d`, `12h`, `10m`, `45s`), as `DurationText` reads it.
struct Age: ExpressibleByArgument {
    let seconds: TimeInterval

    init?(argument: String) {
        guard let unit = argument.last, unit.isLetter, let duration = DurationText.parse(argument), duration > .zero else { return nil }
        seconds = duration.inSeconds
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

struct Cleanup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drop the history older than the retention, a whole time partition at a time.",
        discussion: """
            Drops the partitions of messages, deliveries, callbacks and their attempts whose whole period ends before the \
            cutoff (HAMMER_RETENTION, or --older-than). Their disk space comes back at once; their live rows (pending \
            deliveries, the messages they need, pending callbacks) are kept with their ids and data. Also deletes expired \
            idempotency keys (HAMMER_IDEMPOTENCY_TTL) and the web console's per-minute attempt counts older than a day, \
            not on a dry run.
            """
    )

    @Option(help: "Age of the oldest history kept, e.g. 30d, 12h (default: HAMMER_RETENTION).") var olderThan: Age?
    @Flag(help: "Print which partitions would be dropped and what they hold, and drop nothing.") var dryRun = false

    func run() async throws {
        let runtime = try Runtime()
        let retention = olderThan.map { Duration.seconds($0.seconds) } ?? runtime.config.partitioning.retention
        try await runtime.withClient { [dryRun] client in
            let store = Store(client: client, logger: runtime.logger)
            guard let retention else {
                print("HAMMER_RETENTION is 0 (history is kept): no partition to drop; --older-than 30d drops what is older than 30 days")
                if !dryRun { try await Self.deleteExpiredRows(store) }
                return
            }
            let cutoff = Date().addingTimeInterval(-retention.inSeconds)
            // The partitions ahead first: the newest period is never dropped, and new rows need the next ones.
            if !dryRun { try await store.addPartitions(runtime.config.partitioning, wait: true) }
            let periods = try await store.droppablePeriods(endingBy: cutoff)
            let bytes = periods.reduce(0) { $0 + $1.bytes }
            print(
                "\(periods.count) period(s) of history end before \(Timestamp.format(cutoff)): \(Self.megabytes(bytes))"
                    + (dryRun ? " would be dropped (dry run)" : "")
            )
            for period in periods {
                print(
                    "  \(Timestamp.format(period.startsAt)) to \(Timestamp.format(period.endsAt)): \(Self.megabytes(period.bytes)), "
                        + "\(period.pendingDeliveries) pending deliveries and \(period.pendingCallbacks) pending callbacks to keep"
                )
            }
            guard !dryRun else { return }
            let dropped = try await store.dropPartitions(periods)
            let gone = periods.prefix(dropped.periods)
            let kept = (gone.reduce(0) { $0 + $1.pendingDeliveries }, gone.reduce(0) { $0 + $1.pendingCallbacks })
            print(
                "dropped \(dropped.periods) period(s), \(Self.megabytes(dropped.bytes)) returned; kept \(kept.0) pending deliveries and \(kept.1) pending callbacks"
            )
            try await Self.deleteExpiredRows(store)
            if let reason = dropped.stoppedBecause {
                print("stopped before the end: \(reason)")
                throw ExitCode(1)
            }
        }
    }

    private static func megabytes(_ bytes: Int) -> String {
        String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }

    private static func deleteExpiredRows(_ store: Store) async throws {
        let keys = try await store.deleteExpiredIdempotencyKeys()
        print("\(keys) expired idempotency key(s) deleted")
        let minutes = try await store.deleteOldAttemptMinutes()
        print("\(minutes) console chart row(s) older than a day deleted")
    }
}

struct Monitor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exit 1 when more than --max deliveries reached --status within --since (for cron and alerting)."
    )

    @Option(help: "Delivery status to count: pending, completed or failed.") var status: String = "failed"
    @Option(help: "Window, e.g. 10m, 1h.") var since: Age
    @Option(help: "Largest acceptable count.") var max: Int = 0

    func validate() throws {
        guard Delivery.Status(rawValue: status) != nil else { throw ValidationError("--status must be pending, completed or failed") }
        guard max >= 0 else { throw ValidationError("--max must be 0 or more") }
    }

    func run() async throws {
        let runtime = try Runtime()
        let since = Date().addingTimeInterval(-self.since.seconds)
        let status = Delivery.Status(rawValue: self.status)!
        let count = try await runtime.withClient { client in
            try await Store(client: client, logger: runtime.logger).countDeliveries(status: status, since: since)
        }
        let window = "since \(Timestamp.format(since))"
        if count > max {
            print("ALERT: \(count) deliveries \(status.rawValue) \(window), more than the maximum of \(max)")
            throw ExitCode(1)
        }
        print("OK: \(count) deliveries \(status.rawValue) \(window) (maximum \(max))")
    }
}
