import ArgumentParser
import Foundation
import Hammer

/// A point in time given as an age before now (`10m`, `7d`) or an RFC 3339 timestamp.
struct TimePoint: ExpressibleByArgument {
    let date: Date

    init?(argument: String) {
        if let age = Age(argument: argument) {
            date = Date().addingTimeInterval(-age.seconds)
        } else if let parsed = Timestamp.parse(argument) {
            date = parsed.date
        } else {
            return nil
        }
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

struct Redeliver: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send failed or completed deliveries again (same webhook-id, a fresh round of attempts), by id or by filter.",
        discussion: """
            With ids, those deliveries are redelivered (failed or completed ones; pending ones are already due). Without ids, \
            every delivery matching the filter is, in batches. The count is printed before anything changes. Each redelivered \
            delivery becomes pending now with the subscription's current URL, secret and retry settings; its earlier attempts stay \
            in the attempt log.
            """
    )

    @Argument(help: "Delivery ids. Without ids, the options below choose the deliveries.") var ids: [String] = []
    @Option(help: "Only deliveries of this subscription.") var subscription: String?
    @Option(help: "failed, completed or any. Default: failed, or any when ids are given.") var status: String?
    @Option(help: "Only deliveries whose last change is at or after this: an age (10m, 24h, 7d) or an RFC 3339 time.") var since: TimePoint?
    @Option(help: "Only deliveries whose last change is before this: an age or an RFC 3339 time.") var until: TimePoint?
    @Option(help: "Deliveries changed per transaction.") var batchSize: Int = 1000
    @Flag(help: "Print how many deliveries would be redelivered, and change nothing.") var dryRun = false

    func validate() throws {
        if let status, !["failed", "completed", "any"].contains(status) {
            throw ValidationError("--status must be failed, completed or any")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        if let since, let until, since.date >= until.date { throw ValidationError("--since must be before --until") }
    }

    func run() async throws {
        let runtime = try Runtime()
        let now = Date()
        let statuses: [Delivery.Status] =
            switch status ?? (ids.isEmpty ? "failed" : "any") {
            case "completed": [.completed]
            case "any": [.failed, .completed]
            default: [.failed]
            }
        // Never past now: redelivered rows get a newer updated_at and so leave the filter between batches.
        let filter = RedeliveryFilter(
            ids: ids,
            subscriptionID: subscription,
            statuses: statuses,
            since: since?.date,
            until: min(until?.date ?? now, now)
        )
        let description = describe(filter)
        try await runtime.withClient { [batchSize, dryRun] client in
            let store = Store(client: client, logger: runtime.logger)
            let total = try await store.countRedeliverable(filter)
            print("\(total) \(description)\(dryRun ? " would be redelivered (dry run)" : " will be redelivered")")
            guard !dryRun, total > 0 else { return }
            var done = 0
            while true {
                let batch = try await store.redeliver(filter, limit: batchSize)
                if batch == 0 { break }
                done += batch
                print("redelivered \(done)/\(max(total, done))")
            }
            print("done: \(done) delivery(ies) pending again; workers send them now")
        }
    }

    private func describe(_ filter: RedeliveryFilter) -> String {
        var text = filter.statuses.map(\.rawValue).joined(separator: " or ") + " delivery(ies)"
        if !ids.isEmpty { text += " of the \(ids.count) id(s) given" }
        if let subscription { text += " of subscription \(subscription)" }
        if let since = filter.since { text += " changed since \(Timestamp.format(since))" }
        if let until = filter.until { text += " \(filter.since == nil ? "changed " : "and ")before \(Timestamp.format(until))" }
        return text
    }
}
