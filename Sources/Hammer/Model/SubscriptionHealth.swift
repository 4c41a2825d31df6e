import Foundation

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
