import Hummingbird

/// `/v1/deliveries` and `/v1/delivery-attempts`: delivery state and history, and redelivery.
struct DeliveryController {
    let store: Store
    let listQuery: ListQuery

    /// The equality filters of a delivery list, and of a delivery-attempt list.
    static let listFilters = ["topic_id", "subscription_id", "message_id", "status"]
    static let attemptListFilters = ["delivery_id"]

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.get("deliveries", use: list)
        group.get("deliveries/:id", use: get)
        group.post("deliveries/:id/redeliver", use: redeliver)
        group.get("delivery-attempts", use: listAttempts)
        group.get("delivery-attempts/:id", use: getAttempt)
    }

    @Sendable func get(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await store.delivery(id: try context.parameters.require("id")))
    }

    /// Makes a failed or completed delivery pending again (same webhook-id, a fresh round of attempts): 202.
    @Sendable func redeliver(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await store.redeliver(id: try context.parameters.require("id")), status: .accepted)
    }

    @Sendable func list(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let filter = try listQuery.filter(request, filters: Self.listFilters)
        return try JSONResponse.list("deliveries", try await store.deliveries(filter))
    }

    @Sendable func getAttempt(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await store.deliveryAttempt(id: try context.parameters.require("id")))
    }

    @Sendable func listAttempts(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let filter = try listQuery.filter(request, filters: Self.attemptListFilters)
        return try JSONResponse.list("delivery_attempts", try await store.deliveryAttempts(filter))
    }
}
