/// How fast and how many at once a subscription is sent to (docs/endpoint-health.md).
public struct DeliveryLimits: Sendable, Equatable {
    /// The most a subscription may have: larger values are refused.
    public static let maxMaxInFlight = 10_000
    public static let maxRateLimit = 1_000_000

    /// Concurrent sends per worker; `nil` is the worker's `HAMMER_SUBSCRIPTION_MAX_IN_FLIGHT`.
    public var maxInFlight: Int?
    /// Attempts per second across all workers; `nil` is no limit.
    public var rateLimit: Int?
    /// One send at a time, in publish order.
    public var ordered: Bool

    public init(maxInFlight: Int? = nil, rateLimit: Int? = nil, ordered: Bool = false) {
        self.maxInFlight = maxInFlight
        self.rateLimit = rateLimit
        self.ordered = ordered
    }
}
