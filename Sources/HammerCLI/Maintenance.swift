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
        abstract: "Delete messages older than a cutoff, with their deliveries and attempts, in bounded batches.",
        discussion:
            "Also deletes expired idempotency keys (HAMMER_IDEMPOTENCY_TTL) and the web console's per-minute attempt counts older than a day, not on a dry run."
    )

    @Option(help: "Age of the oldest message kept, e.g. 30d, 12h.") var olderThan: Age
    @Option(help: "Messages deleted per transaction.") var batchSize: Int = 1000
    @Flag(help: "Print how many messages would be deleted, and delete nothing.") var dryRun = false

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() async throws {
        let runtime = try Runtime()
        let cutoff = Date().addingTimeInterval(-olderThan.seconds)
        try await runtime.withClient { [batchSize, dryRun] client in
            let store = Store(client: client, logger: runtime.logger)
            let total = try await store.countMessages(olderThan: cutoff)
            print("\(total) message(s) created before \(Timestamp.format(cutoff))\(dryRun ? " would be deleted (dry run)" : "")")
            guard !dryRun else { return }
            var deleted = 0
            while true {
                let batch = try await store.deleteMessages(olderThan: cutoff, limit: batchSize)
                if batch == 0 { break }
                deleted += batch
                print("deleted \(deleted)/\(max(total, deleted))")
            }
            print("done: \(deleted) message(s) deleted with their deliveries and attempts")
            let keys = try await store.deleteExpiredIdempotencyKeys()
            print("\(keys) expired idempotency key(s) deleted")
            let minutes = try await store.deleteOldAttemptMinutes()
            print("\(minutes) console chart row(s) older than a day deleted")
        }
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
