import Foundation
import PostgresNIO

extension Store {
    /// The channel `NOTIFY`d when a publish creates deliveries; workers `LISTEN` on it.
    public static let deliveriesChannel = "hammer_deliveries"

    private static let messageColumns = "id, topic_id, content_type, data, created_at"

    private static func message(_ row: PostgresRow) throws -> Message {
        let (id, topicID, contentType, data, createdAt) = try row.decode((String, String, String, String, Date).self)
        return Message(id: id, topicID: topicID, contentType: contentType, data: data, createdAt: createdAt)
    }

    /// Inserts the messages whose topic exists and one pending delivery per subscription of each, then notifies
    /// workers; one prepared statement, so one transaction and one round trip. Returns `created_at` by message id;
    /// a message missing from the result had no such topic.
    func publishBatch(_ messages: [(id: String, request: PublishBatcher.Request)]) async throws -> [String: Date] {
        var created: [String: Date] = [:]
        for (id, createdAt) in try await execute(PublishStatement(messages: messages), committed: true) {
            created[id] = createdAt
        }
        return created
    }

    /// Publishes one message on its own (no batching); throws `topic_does_not_exists` for an unknown topic.
    public func publish(_ request: PublishBatcher.Request) async throws -> Message {
        let id = ULID.make()
        guard let createdAt = try await publishBatch([(id, request)])[id] else { throw HammerError.doesNotExist("topic", id: request.topicID) }
        return Message(id: id, topicID: request.topicID, contentType: request.contentType, data: request.dataBase64, createdAt: createdAt)
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

/// The publish statement, prepared once per connection so PostgreSQL plans it once.
struct PublishStatement: PostgresPreparedStatement {
    typealias Row = (String, Date)

    static let sql = """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS i(id, topic_id, content_type, data)
        ), message AS (
            INSERT INTO messages (id, topic_id, content_type, data)
            SELECT i.id, i.topic_id, i.content_type, i.data FROM input i JOIN topics t ON t.id = i.topic_id
            RETURNING id, topic_id, created_at
        ), delivery AS (
            -- A delivery id is its message's ULID time prefix and 64 random bits (hex, a subset of Crockford base32).
            INSERT INTO deliveries (
                id, topic_id, subscription_id, message_id, url, secret_token,
                max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, scheduled_at, created_at, updated_at)
            SELECT substr(m.id, 1, 10) || upper(substr(md5(gen_random_uuid()::text), 1, 16)), s.topic_id, s.id, m.id, s.url, s.secret_token,
                s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout, m.created_at, m.created_at, m.created_at
            FROM message m JOIN subscriptions s ON s.topic_id = m.topic_id
            RETURNING 1
        ), notified AS (
            SELECT pg_notify('\(Store.deliveriesChannel)', '') WHERE EXISTS (SELECT 1 FROM delivery)
        )
        SELECT m.id, m.created_at FROM message m WHERE (SELECT count(*) FROM notified) >= 0
        """

    let messages: [(id: String, request: PublishBatcher.Request)]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(messages.map(\.id))
        bindings.append(messages.map(\.request.topicID))
        bindings.append(messages.map(\.request.contentType))
        bindings.append(messages.map(\.request.dataBase64))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}
