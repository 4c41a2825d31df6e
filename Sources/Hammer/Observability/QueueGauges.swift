/// The queue's state as `/metrics` shows it, read from the database at most every 5 seconds.
struct QueueGauges: Sendable {
    var pending: Int
    /// Seconds the oldest due pending delivery has waited.
    var oldestPendingAge: Double
    var subscriptions: [Subscription.Status: Int]
    /// Pending deliveries waiting behind a subscription setting, by reason.
    var heldBack: [String: Int]
}
