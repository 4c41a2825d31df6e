import Foundation

/// How history is stored over time (docs/storage.md): messages, deliveries, callbacks and their attempts are
/// partitioned by the time in their ids, one partition per `interval`, and partitions wholly older than `retention`
/// are dropped (`nil`: history is kept for ever).
public struct Partitioning: Sendable, Equatable {
    /// The widths a partition may have.
    public static let intervals: ClosedRange<Duration> = .seconds(60)...Duration.seconds(30 * 86400)
    /// The retentions that may be set (besides none).
    public static let retentions: ClosedRange<Duration> = .seconds(60)...Duration.seconds(3650 * 86400)
    /// How many intervals past the current one always have their partitions, so an insert never lacks one.
    public static let periodsAhead = 2

    public var interval: Duration
    public var retention: Duration?

    public init(interval: Duration = .seconds(86400), retention: Duration? = nil) {
        self.interval = interval
        self.retention = retention
    }

    /// The moment before which history goes, seen at `now`; `nil` when it is kept for ever.
    public func retentionCutoff(now: Date = Date()) -> Date? {
        retention.map { now.addingTimeInterval(-$0.inSeconds) }
    }
}
