/// Callbacks: the outcome events sent to subscriptions' `callback_url`, each with its attempts.
struct CallbackOperations: Sendable {
    let store: Store

    /// The equality filters of a callback list.
    static let listFilters = ["subscription_id", "delivery_id", "type", "status"]

    func callback(id: String) async throws -> Callback { try await store.callback(id: id) }

    func callbacks(_ filter: ListFilter) async throws -> [Callback] { try await store.callbacks(filter) }
}
