import Hummingbird

/// `/v1/subscriptions`: webhook endpoints of a topic with their retry settings.
struct SubscriptionController {
    let subscriptions: SubscriptionOperations
    let maxBodyBytes: Int
    let listQuery: ListQuery

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.post("subscriptions", use: create)
        group.get("subscriptions", use: list)
        group.get("subscriptions/:id", use: get)
        group.patch("subscriptions/:id", use: update)
        group.delete("subscriptions/:id", use: delete)
        group.post("subscriptions/:id/test", use: test)
        group.post("subscriptions/:id/rotate-secret", use: rotateSecret)
        group.post("subscriptions/:id/disable", use: disable)
        group.post("subscriptions/:id/enable", use: enable)
    }

    /// 200 also when it already was disabled.
    @Sendable func disable(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await subscriptions.disable(id: try context.parameters.require("id")))
    }

    @Sendable func enable(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await subscriptions.enable(id: try context.parameters.require("id")))
    }

    @Sendable func create(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "subscription")
        return try JSONResponse.make(try await subscriptions.create(SubscriptionInput(body)))
    }

    @Sendable func update(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let body = try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "subscription")
        return try JSONResponse.make(try await subscriptions.update(id: id, SubscriptionInput(body.without("id"))))
    }

    @Sendable func get(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await subscriptions.subscription(id: try context.parameters.require("id")))
    }

    @Sendable func list(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let filter = try listQuery.filter(request, filters: SubscriptionOperations.listFilters)
        return try JSONResponse.list("subscriptions", try await subscriptions.subscriptions(filter))
    }

    @Sendable func delete(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await subscriptions.delete(id: try context.parameters.require("id"))
        return JSONResponse.empty()
    }

    /// 200 with the attempt, whatever the receiver said.
    @Sendable func test(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await subscriptions.test(id: try context.parameters.require("id")))
    }

    /// The body is optional: `secret_token` and `grace_period` both have defaults.
    @Sendable func rotateSecret(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let body = try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "subscription", emptyAllowed: true)
        return try JSONResponse.make(try await subscriptions.rotateSecret(id: id, SecretRotationInput(body)))
    }
}
