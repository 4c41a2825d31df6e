import Foundation
import Hummingbird

/// `/v1/messages`: publishing fans a message out into one delivery per subscription.
struct MessageController {
    let store: Store
    let publisher: PublishBatcher
    let maxBodyBytes: Int
    let listQuery: ListQuery

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.post("messages", use: publish)
        group.get("messages", use: list)
        group.get("messages/:id", use: get)
        group.delete("messages/:id", use: delete)
    }

    @Sendable func publish(_ request: Request, context: BasicRequestContext) async throws -> Response {
        var reader = FieldReader(try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "message"))
        let topicID = reader.string("topic_id")
        let contentType = reader.string("content_type")
        let data = reader.string("data", allowingNUL: true)
        let eventType = reader.string("event_type")
        Validation.requireID(topicID, field: "topic_id", in: &reader)
        // Optional, as in hammer's own README, which publishes without it; empty is unset, as in hammer's protobuf.
        if let contentType, !contentType.isEmpty {
            Validation.requireText(contentType, field: "content_type", in: &reader)
            // It becomes the Content-Type header of raw deliveries.
            if !HTTPHeaderText.isValidValue(contentType) { reader.fail("content_type", HTTPHeaderText.valueRule) }
        }
        if let eventType, !EventType.isValidName(eventType) { reader.fail("event_type", EventType.nameRule) }
        if data == nil, !reader.hasError("data") { reader.fail("data", "is required") }
        try reader.check("message")
        let message = try await publisher.publish(
            .init(
                topicID: topicID!,
                contentType: contentType.flatMap { $0.isEmpty ? nil : $0 } ?? Message.defaultContentType,
                dataBase64: Data(data!.utf8).base64EncodedString(),
                eventType: eventType
            )
        )
        return try JSONResponse.make(message)
    }

    @Sendable func get(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await store.message(id: try context.parameters.require("id")))
    }

    @Sendable func list(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.list("messages", try await store.messages(try listQuery.filter(request, filters: ["topic_id"])))
    }

    @Sendable func delete(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await store.deleteMessage(id: try context.parameters.require("id"))
        return JSONResponse.empty()
    }
}
