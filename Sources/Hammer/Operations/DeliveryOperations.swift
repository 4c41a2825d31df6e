/// Deliveries and their attempts: state, history and redelivery.
struct DeliveryOperations: Sendable {
    let store: Store

    /// The equality filters of a delivery list, and of a delivery-attempt list.
    static let listFilters = ["topic_id", "subscription_id", "message_id", "status"]
    static let attemptListFilters = ["delivery_id"]

    func delivery(id: String) async throws -> Delivery { try await store.delivery(id: id) }

    func deliveries(_ filter: ListFilter) async throws -> [Delivery] { try await store.deliveries(filter) }

    /// Makes a failed or completed delivery pending again: the same webhook-id, a fresh round of attempts.
    func redeliver(id: String) async throws -> Delivery { try await store.redeliver(id: id) }

    func attempt(id: String) async throws -> DeliveryAttempt { try await store.deliveryAttempt(id: id) }

    func attempts(_ filter: ListFilter) async throws -> [DeliveryAttempt] { try await store.deliveryAttempts(filter) }

    /// Attempts with their request and response dumps cut to `maxDumpCharacters` characters each.
    func attempts(_ filter: ListFilter, maxDumpCharacters: Int) async throws -> [CutAttempt] {
        try await store.deliveryAttemptsCut(filter, maxDumpCharacters: maxDumpCharacters)
    }
}
