import HTTPTypes
import Hummingbird

/// `/v1/messages`: publishing fans a message out into one delivery per subscription; a batch publishes up to 1,000
/// messages all or nothing; both take an `Idempotency-Key`.
struct MessageController {
    let messages: MessageOperations
    let maxBodyBytes: Int
    let maxBatchBytes: Int
    let listQuery: ListQuery

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
    static let webhookID = HTTPField.Name("webhook-id")!

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.post("messages", use: publish)
        group.post("messages/batch", use: publishBatch)
        group.get("messages", use: list)
        group.get("messages/:id", use: get)
        group.delete("messages/:id", use: delete)
    }

    @Sendable func publish(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await messages.refuseLoop(webhookID: request.headers[Self.webhookID])
        let body = try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "message")
        let result = try await messages.publish(MessageInput(body), scope: Self.scope(request, endpoint: "messages"))
        return Self.replayMarked(try JSONResponse.make(result.message), result.replayed)
    }

    /// `{"messages": [...]}`: answered in request order.
    @Sendable func publishBatch(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await messages.refuseLoop(webhookID: request.headers[Self.webhookID])
        let body = try await RequestBody.read(request, limit: maxBatchBytes, wrapper: "batch")
        let result = try await messages.publishBatch(BatchInput(body), scope: Self.scope(request, endpoint: "messages/batch"))
        return Self.replayMarked(try JSONResponse.list("messages", result.messages), result.replayed)
    }

    @Sendable func get(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await messages.message(id: try context.parameters.require("id")))
    }

    @Sendable func list(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.list("messages", try await messages.messages(try listQuery.filter(request, filters: MessageOperations.listFilters)))
    }

    @Sendable func delete(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await messages.delete(id: try context.parameters.require("id"))
        return JSONResponse.empty()
    }

    private static func scope(_ request: Request, endpoint: String) -> PublishScope {
        PublishScope(endpoint: endpoint, idempotencyKey: request.headers[Self.idempotencyKey], authorization: request.headers[.authorization])
    }

    private static func replayMarked(_ response: Response, _ replayed: Bool) -> Response {
        var response = response
        if replayed { response.headers[Self.idempotentReplayed] = "true" }
        return response
    }
}
