import Foundation

/// The delivery queue at a glance: deliveries by status, recent outcomes per minute, and trouble.
public struct DeliveryOverview: Sendable {
    /// Attempts in one minute of the last hour.
    public struct Minute: Sendable, Equatable {
        public var start: Date
        public var succeeded: Int
        public var failed: Int
    }

    /// Finished deliveries are counted up to this many.
    public static let countLimit = 10_000

    public var pending: Int
    /// Up to `countLimit`: at the limit there are at least as many.
    public var completed: Int
    public var failed: Int
    /// Seconds the oldest due pending delivery has waited; 0 when none is due.
    public var oldestPendingAge: Double
    /// The last hour's attempts by minute, oldest first, minutes without attempts left out.
    public var minutes: [Minute]
    /// Disabled subscriptions and those whose attempts fail since a time, worst first.
    public var failingSubscriptions: [SubscriptionHealth]
}
