import Hummingbird

/// `/v1/deliveries` and `/v1/delivery-attempts`: delivery state and history, and redelivery.
struct DeliveryController {
    let deliveries: DeliveryOperations
    let listQuery: ListQuery

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.get("deliveries", use: list)
        group.get("deliveries/:id", use: get)
        group.post("deliveries/:id/redeliver", use: redeliver)
        group.get("delivery-attempts", use: listAttempts)
        group.get("delivery-attempts/:id", use: getAttempt)
    }

    @Sendable func get(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await deliveries.delivery(id: try context.parameters.require("id")))
    }

    /// 202: the delivery is pending again.
    @Sendable func redeliver(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await deliveries.redeliver(id: try context.parameters.require("id")), status: .accepted)
    }

    @Sendable func list(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let filter = try listQuery.filter(request, filters: DeliveryOperations.listFilters)
        return try JSONResponse.list("deliveries", try await deliveries.deliveries(filter))
    }

    @Sendable func getAttempt(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await deliveries.attempt(id: try context.parameters.require("id")))
    }

    @Sendable func listAttempts(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let filter = try listQuery.filter(request, filters: DeliveryOperations.attemptListFilters)
        return try JSONResponse.list("delivery_attempts", try await deliveries.attempts(filter))
    }
}
