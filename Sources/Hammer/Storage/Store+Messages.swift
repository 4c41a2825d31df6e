import Foundation
import PostgresNIO

extension Message {
    /// The message `request` created.
    init(_ request: PublishRequest, id: String, createdAt: Date) {
        self.init(
            id: id,
            topicID: request.topicID,
            contentType: request.contentType,
            data: request.dataBase64,
            eventType: request.eventType,
            createdAt: createdAt
        )
    }
}

extension Store {
    /// The channel `NOTIFY`d when a publish creates deliveries; workers `LISTEN` on it.
    /// Also named in `hammer_publish` (migration 2).
    public static let deliveriesChannel = "hammer_deliveries"

    private static let messageColumns = "id, topic_id, content_type, data, event_type, created_at"

    private static func message(_ row: PostgresRow) throws -> Message {
        let (id, topicID, contentType, data, eventType, createdAt) = try row.decode((String, String, String, String, String?, Date).self)
        return Message(id: id, topicID: topicID, contentType: contentType, data: data, eventType: eventType, createdAt: createdAt)
    }

    /// Inserts the messages whose topic exists and one pending delivery per subscription of each whose event-type
    /// filter takes it, then notifies workers: one CALL of `hammer_publish` (migration 4), which commits before it answers, so nothing is acknowledged
    /// before it is durable. Returns `created_at` by message id; a message missing from the result had no such topic.
    /// `settled` is called once the CALL has ended on its connection, which may be after this answered 503.
    func publishBatch(
        _ messages: [(id: String, request: PublishRequest)],
        settled: (@Sendable () -> Void)? = nil
    ) async throws -> [String: Date] {
        guard let (ids, dates) = try await execute(PublishStatement(messages: messages), settled: settled).first else { return [:] }
        return Dictionary(uniqueKeysWithValues: zip(ids ?? [], dates ?? []))
    }

    /// Publishes one message on its own (no batching); throws `topic_does_not_exists` for an unknown topic.
    public func publish(_ request: PublishRequest) async throws -> Message {
        let id = ULID.make()
        guard let createdAt = try await publishBatch([(id, request)])[id] else { throw HammerError.doesNotExist("topic", id: request.topicID) }
        return Message(request, id: id, createdAt: createdAt)
    }

    public func message(id: String) async throws -> Message {
        let query: PostgresQuery = "SELECT \(unescaped: Self.messageColumns) FROM messages WHERE id = \(id)"
        return try await one(query, resource: "message", id: id, decode: Self.message)
    }

    public func messages(_ filter: ListFilter) async throws -> [Message] {
        try await all(filter.query(select: Self.messageColumns, from: "messages"), decode: Self.message)
    }

    /// Deletes the message and, by cascade, its deliveries and their attempts.
    public func deleteMessage(id: String) async throws {
        try await delete(from: "messages", id: id, resource: "message")
    }
}

/// The publish call, prepared once per connection. The SQL is in `migrations/000004_delivery_options.up.sql`:
/// a procedure, because only a procedure can commit before the call answers.
struct PublishStatement: PostgresPreparedStatement {
    typealias Row = ([String]?, [Date]?)

    static let sql = "CALL hammer_publish($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], NULL, NULL)"

    let messages: [(id: String, request: PublishRequest)]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(messages.map(\.id))
        bindings.append(messages.map(\.request.topicID))
        bindings.append(messages.map(\.request.contentType))
        bindings.append(messages.map(\.request.dataBase64))
        bindings.append(messages.map { $0.request.eventType ?? "" })
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}
