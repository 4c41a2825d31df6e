import Foundation

/// What the console's overview shows: the queue by status, recent outcomes per minute, and trouble.
public struct ConsoleOverview: Sendable {
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

/// How a subscription's endpoint is doing.
public struct SubscriptionHealth: Sendable, Equatable {
    public var subscriptionID: String
    public var status: Subscription.Status
    public var disabledReason: String?
    /// When its attempts began failing without a success since; `nil` while the last attempt succeeded.
    public var failingSince: Date?
    /// When its most recent completed delivery completed.
    public var lastSuccessAt: Date?
    /// Of its most recent deliveries with at least one attempt (up to 100): how many, and how many are not completed.
    public var recentAttempted: Int
    public var recentFailing: Int
}
