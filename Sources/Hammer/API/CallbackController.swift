import Hummingbird

/// `/v1/callbacks`: the outcome events sent to subscriptions' `callback_url`, each with its attempts.
struct CallbackController {
    let callbacks: CallbackOperations
    let listQuery: ListQuery

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.get("callbacks", use: list)
        group.get("callbacks/:id", use: get)
    }

    @Sendable func get(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await callbacks.callback(id: try context.parameters.require("id")))
    }

    @Sendable func list(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let filter = try listQuery.filter(request, filters: CallbackOperations.listFilters)
        return try JSONResponse.list("callbacks", try await callbacks.callbacks(filter))
    }
}
