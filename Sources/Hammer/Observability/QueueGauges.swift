/// The queue's state as `/metrics` shows it, read from the database at most every 5 seconds; a part whose query
/// failed is `nil` and keeps its last value.
struct QueueGauges: Sendable {
    /// Pending deliveries, and seconds the oldest due one has waited.
    var pending: (count: Int, oldestAgeSeconds: Double)?
    /// Subscriptions by status, and pending deliveries waiting behind a subscription setting, by reason.
    var health: (subscriptions: [Subscription.Status: Int], heldBack: [String: Int])?
}
