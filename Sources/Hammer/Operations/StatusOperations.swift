/// What the service's health checks, metrics and overview report about the database and the queue.
struct StatusOperations: Sendable {
    let store: Store

    /// Whether PostgreSQL answers now.
    func isDatabaseReachable() async -> Bool { await store.ping() }

    /// The queue's gauges for `/metrics`: pending deliveries, subscriptions by status, deliveries held back; each
    /// part read on its own, so one failing query leaves the other.
    func queueGauges() async -> QueueGauges {
        QueueGauges(pending: try? await store.pendingSummary(), health: try? await store.healthSummary())
    }

    /// The queue by status, the last hour's outcomes per minute and the failing subscriptions.
    func overview() async throws -> DeliveryOverview { try await store.deliveryOverview() }
}
