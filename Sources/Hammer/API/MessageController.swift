import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers

/// `/v1/messages`: publishing fans a message out into one delivery per subscription; a batch publishes up to 1,000
/// messages all or nothing; both take an `Idempotency-Key`.
struct MessageController {
    let store: Store
    let publisher: PublishBatcher
    let maxBodyBytes: Int
    let maxBatchBytes: Int
    let listQuery: ListQuery
    /// When set, idempotency keys are kept per API key.
    let authenticated: Bool
    /// Idempotency keys whose request this server is processing now.
    let keysInUse = NIOLockedValueBox<Set<IdempotencyKey.Slot>>([])

    static let maxBatchMessages = 1000
    /// The equality filters of a message list.
    static let listFilters = ["topic_id"]
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
        try await refuseLoop(request)
        let messages = try Self.readSingle(try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "message"))
        let result = try await publish(
            messages,
            endpoint: "messages",
            idempotencyKey: request.headers[Self.idempotencyKey],
            authorization: request.headers[.authorization]
        )
        guard let message = result.messages.first else { throw HammerError.internalError }
        return Self.replayMarked(try JSONResponse.make(message), result.replayed)
    }

    /// `{"messages": [...]}`: 1 to 1,000 messages, checked like single ones (`messages[3].data`), written in one
    /// transaction or not at all, answered in request order.
    @Sendable func publishBatch(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await refuseLoop(request)
        let messages = try Self.readBatch(try await RequestBody.read(request, limit: maxBatchBytes, wrapper: "batch"))
        let result = try await publish(
            messages,
            endpoint: "messages/batch",
            idempotencyKey: request.headers[Self.idempotencyKey],
            authorization: request.headers[.authorization]
        )
        return Self.replayMarked(try JSONResponse.list("messages", result.messages), result.replayed)
    }

    /// Refuses a publish sent by one of this hammer's own deliveries or callbacks (its `webhook-id` names one): a
    /// subscription whose URL is this publish endpoint would otherwise publish again with every delivery, forever.
    private func refuseLoop(_ request: Request) async throws {
        guard let id = request.headers[Self.webhookID], ULID.isWellFormed(id), try await store.isDeliveryOrCallback(id: id) else { return }
        throw HammerError(
            .failedPrecondition,
            "publish_loop",
            "this request is hammer's own delivery \(id) (its webhook-id): a subscription sends to this publish endpoint, which would publish forever"
        )
    }

    private static func replayMarked(_ response: Response, _ replayed: Bool) -> Response {
        var response = response
        if replayed { response.headers[Self.idempotentReplayed] = "true" }
        return response
    }

    /// A single publish's message, checked (REST and gRPC).
    static func readSingle(_ body: RequestBody) throws -> [PublishRequest] {
        var reader = FieldReader(body)
        let message = Self.readMessage(&reader)
        try reader.check("message")
        return [message!]
    }

    /// A batch's messages, each checked like a single one.
    static func readBatch(_ body: RequestBody) throws -> [PublishRequest] {
        var reader = FieldReader(body)
        var messages: [PublishRequest] = []
        switch body.fields["messages"] {
        case .array(let items)?:
            if !(1...Self.maxBatchMessages).contains(items.count) {
                reader.fail("messages", "must hold 1 to \(Self.maxBatchMessages) messages, got \(items.count)")
            }
            for (index, item) in items.prefix(Self.maxBatchMessages).enumerated() {
                guard case .object(let fields) = item else {
                    reader.fail("messages[\(index)]", "must be an object, got \(item.typeName)")
                    continue
                }
                var itemReader = FieldReader(fields: fields)
                let message = Self.readMessage(&itemReader)
                for error in itemReader.errors { reader.fail("messages[\(index)].\(error.field)", error.description) }
                if let message { messages.append(message) }
            }
        case nil, .null?:
            reader.fail("messages", "is required: an array of 1 to \(Self.maxBatchMessages) messages")
        case let other?:
            reader.fail("messages", "must be an array, got \(other.typeName)")
        }
        try reader.check("message")
        return messages
    }

    /// A single publish's or a batch's fields: `topic_id`, `data`, `content_type?`, `event_type?`; `nil` when bad.
    static func readMessage(_ reader: inout FieldReader) -> PublishRequest? {
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
        guard let topicID, let data, reader.errors.isEmpty else { return nil }
        return PublishRequest(
            topicID: topicID,
            contentType: contentType.flatMap { $0.isEmpty ? nil : $0 } ?? Message.defaultContentType,
            dataBase64: Data(data.utf8).base64EncodedString(),
            eventType: eventType
        )
    }

    /// Publishes `messages` as one request, honouring an idempotency key (REST and gRPC): a live key used for the
    /// same request answers what that request created (`replayed`), for another request 422, while its request is
    /// still being processed here 409. The key is recorded in the same transaction as the messages; with API keys
    /// set, keys are kept per API key (`authorization` is the request's `Bearer` credential).
    func publish(
        _ messages: [PublishRequest],
        endpoint: String,
        idempotencyKey: String?,
        authorization: String?
    ) async throws -> (messages: [Message], replayed: Bool) {
        guard let idempotencyKey else {
            switch try await publisher.publish(messages, key: nil) {
            case .published(let created): return (created, false)
            case .unknownTopic, .keyTakenOrUnknownTopic: throw try await unknownTopic(messages)
            }
        }
        if let problem = IdempotencyKey.problem(idempotencyKey) {
            throw HammerError(.invalidArgument, "invalid_idempotency_key", problem)
        }
        let apiKey = authenticated ? APIKeys.bearerKey(authorization) : nil
        let key = IdempotencyKey(key: idempotencyKey, apiKey: apiKey, endpoint: endpoint, requests: messages)
        if let replay = try await replay(key) { return (replay, true) }
        guard keysInUse.withLockedValue({ $0.insert(key.slot).inserted }) else { throw HammerError.idempotencyKeyInUse }
        defer { _ = keysInUse.withLockedValue { $0.remove(key.slot) } }
        switch try await publisher.publish(messages, key: key) {
        case .published(let created):
            return (created, false)
        case .unknownTopic, .keyTakenOrUnknownTopic:
            // Another server may have recorded the key meanwhile; otherwise a topic was missing.
            if let replay = try await replay(key) { return (replay, true) }
            throw try await unknownTopic(messages)
        }
    }

    /// The messages `key`'s request created, when its key is live. A key whose messages are gone (deleted, or their
    /// topic, or cleaned up) is dropped and treated as expired: the request is published anew.
    private func replay(_ key: IdempotencyKey) async throws -> [Message]? {
        guard let record = try await store.idempotencyRecord(key) else { return nil }
        guard record.requestHash == key.requestHash else { throw HammerError.idempotencyKeyMismatch }
        let messages = try await store.messages(ids: record.messageIDs)
        guard messages.count == record.messageIDs.count, !messages.isEmpty else {
            try await store.deleteIdempotencyRecord(key, messageIDs: record.messageIDs)
            return nil
        }
        return messages
    }

    private func unknownTopic(_ messages: [PublishRequest]) async throws -> HammerError {
        let missing = try await store.firstMissingTopic(messages.map(\.topicID)) ?? messages.first?.topicID ?? ""
        return HammerError.doesNotExist("topic", id: missing)
    }

    @Sendable func get(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await store.message(id: try context.parameters.require("id")))
    }

    @Sendable func list(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.list("messages", try await store.messages(try listQuery.filter(request, filters: Self.listFilters)))
    }

    @Sendable func delete(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await store.deleteMessage(id: try context.parameters.require("id"))
        return JSONResponse.empty()
    }
}
