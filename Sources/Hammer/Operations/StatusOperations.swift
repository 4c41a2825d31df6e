/// What the service's health checks, metrics and overview report about the database and the queue.
struct StatusOperations: Sendable {
    let store: Store

    /// Whether PostgreSQL answers now.
    func isDatabaseReachable() async -> Bool { await store.ping() }

    /// The queue's gauges for `/metrics`: pending deliveries, subscriptions by status, deliveries held back.
    func queueGauges() async throws -> QueueGauges {
        let pending = try await store.pendingSummary()
        let health = try await store.healthSummary()
        return QueueGauges(
            pending: pending.count,
            oldestPendingAge: pending.oldestAgeSeconds,
            subscriptions: health.subscriptions,
            heldBack: health.heldBack
        )
    }

    /// The queue by status, the last hour's outcomes per minute and the failing subscriptions.
    func overview() async throws -> DeliveryOverview { try await store.deliveryOverview() }
}
