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

    /// Inserts the message and one pending delivery per subscription of its topic, then notifies workers.
    /// One statement, so one transaction and one round trip; returns the message and how many deliveries it made.
    public func publish(topicID: String, contentType: String, dataBase64: String) async throws -> (message: Message, deliveries: Int) {
        let id = ULID.make()
        let query: PostgresQuery = """
            WITH message AS (
                INSERT INTO messages (id, topic_id, content_type, data)
                VALUES (\(id), \(topicID), \(contentType), \(dataBase64))
                RETURNING id, topic_id, content_type, data, created_at
            ), delivery AS (
                INSERT INTO deliveries (
                    id, topic_id, subscription_id, message_id, url, secret_token,
                    max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, scheduled_at, created_at, updated_at)
                SELECT hammer_ulid(), s.topic_id, s.id, m.id, s.url, s.secret_token,
                    s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout, m.created_at, m.created_at, m.created_at
                FROM message m JOIN subscriptions s ON s.topic_id = m.topic_id
                RETURNING 1
            ), counted AS (
                SELECT count(*) AS deliveries FROM delivery
            ), notified AS (
                SELECT pg_notify(\(Self.deliveriesChannel), '') FROM counted WHERE deliveries > 0
            )
            SELECT m.id, m.topic_id, m.content_type, m.data, m.created_at, c.deliveries, (SELECT count(*) FROM notified)
            FROM message m, counted c
            """
        do {
            let row = try await first(query) { row in
                let (id, topicID, contentType, data, createdAt, deliveries, _) = try row.decode((String, String, String, String, Date, Int, Int).self)
                return (Message(id: id, topicID: topicID, contentType: contentType, data: data, createdAt: createdAt), deliveries)
            }
            return row!
        } catch {
            throw PostgresErrorMapping.map(error, resource: "message", id: id, topicID: topicID)
        }
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
