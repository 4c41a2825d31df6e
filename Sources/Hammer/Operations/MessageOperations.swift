import Foundation
import NIOConcurrencyHelpers

/// Messages: publishing fans a message out into one delivery per subscription; a batch publishes up to 1,000 messages
/// all or nothing; both take an idempotency key.
struct MessageOperations: Sendable {
    let store: Store
    let publisher: PublishBatcher
    /// When set, idempotency keys are kept per API key.
    let authenticated: Bool
    /// Idempotency keys whose request this server is processing now.
    let keysInUse = NIOLockedValueBox<Set<IdempotencyKey.Slot>>([])

    static let maxBatchMessages = 1000
    /// The equality filters of a message list.
    static let listFilters = ["topic_id"]
    static let fieldOrder = ["topic_id", "content_type", "event_type", "data"]

    /// Publishes one message, checked; `replayed` when an idempotency key answered an earlier request's message.
    func publish(_ input: MessageInput, scope: PublishScope) async throws -> (message: Message, replayed: Bool) {
        var check = FieldCheck(order: Self.fieldOrder, reading: input.readingErrors)
        let request = Self.request(input, check: &check)
        try check.check("message")
        guard let request else { throw HammerError.internalError }
        let result = try await publish([request], scope: scope)
        guard let message = result.messages.first else { throw HammerError.internalError }
        return (message, result.replayed)
    }

    /// Publishes 1 to 1,000 messages, each checked like a single one (`messages[3].data`), in one transaction or not
    /// at all, answered in request order.
    func publishBatch(_ input: BatchInput, scope: PublishScope) async throws -> (messages: [Message], replayed: Bool) {
        var check = FieldCheck(order: ["messages"], reading: input.readingErrors)
        var requests: [PublishRequest] = []
        if let items = input.items {
            if !(1...Self.maxBatchMessages).contains(items.count) {
                check.fail("messages", "must hold 1 to \(Self.maxBatchMessages) messages, got \(items.count)")
            }
            for (index, item) in items.prefix(Self.maxBatchMessages).enumerated() {
                switch item {
                case .unreadable(let description):
                    check.fail("messages[\(index)]", description)
                case .message(let message):
                    var itemCheck = FieldCheck(order: Self.fieldOrder, reading: message.readingErrors)
                    let request = Self.request(message, check: &itemCheck)
                    for error in itemCheck.errors { check.fail("messages[\(index)].\(error.field)", error.description) }
                    if let request { requests.append(request) }
                }
            }
        } else if !check.hasError("messages") {
            check.fail("messages", "is required: an array of 1 to \(Self.maxBatchMessages) messages")
        }
        try check.check("message")
        return try await publish(requests, scope: scope)
    }

    /// Refuses a publish sent by one of this hammer's own deliveries or callbacks (its `webhook-id` names one): a
    /// subscription whose URL is this publish endpoint would otherwise publish again with every delivery, forever.
    func refuseLoop(webhookID: String?) async throws {
        guard let id = webhookID, ULID.isWellFormed(id), try await store.isDeliveryOrCallback(id: id) else { return }
        throw HammerError(
            .failedPrecondition,
            "publish_loop",
            "this request is hammer's own delivery \(id) (its webhook-id): a subscription sends to this publish endpoint, which would publish forever"
        )
    }

    func message(id: String) async throws -> Message { try await store.message(id: id) }

    func messages(_ filter: ListFilter) async throws -> [Message] { try await store.messages(filter) }

    func delete(id: String) async throws { try await store.deleteMessage(id: id) }

    /// A message's fields: `topic_id`, `data`, `content_type?`, `event_type?`; `nil` when bad.
    private static func request(_ input: MessageInput, check: inout FieldCheck) -> PublishRequest? {
        let topicID = check.text(input.topicID, field: "topic_id")
        let contentType = check.text(input.contentType, field: "content_type")
        let eventType = check.text(input.eventType, field: "event_type")
        check.requireID(topicID, field: "topic_id")
        // Optional, as in hammer's own README, which publishes without it; empty is unset, as in hammer's protobuf.
        if let contentType, !contentType.isEmpty {
            check.requireText(contentType, field: "content_type")
            // It becomes the Content-Type header of raw deliveries.
            if !HTTPHeaderText.isValidValue(contentType) { check.fail("content_type", HTTPHeaderText.valueRule) }
        }
        if let eventType, !EventType.isValidName(eventType) { check.fail("event_type", EventType.nameRule) }
        if input.data == nil, !check.hasError("data") { check.fail("data", "is required") }
        guard let topicID, let data = input.data, check.isEmpty else { return nil }
        return PublishRequest(
            topicID: topicID,
            contentType: contentType.flatMap { $0.isEmpty ? nil : $0 } ?? Message.defaultContentType,
            dataBase64: Data(data.utf8).base64EncodedString(),
            eventType: eventType
        )
    }
}
