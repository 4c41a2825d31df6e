import Foundation
import PostgresNIO

extension Store {
    private static let topicColumns = "id, name, created_at, updated_at"

    private static func topic(_ row: PostgresRow) throws -> Topic {
        let (id, name, createdAt, updatedAt) = try row.decode((String, String, Date, Date).self)
        return Topic(id: id, name: name, createdAt: createdAt, updatedAt: updatedAt)
    }

    public func createTopic(id: String, name: String) async throws -> Topic {
        do {
            let query: PostgresQuery = "INSERT INTO topics (id, name) VALUES (\(id), \(name)) RETURNING id, name, created_at, updated_at"
            return try await first(query, committed: true, decode: Self.topic)!
        } catch {
            throw PostgresErrorMapping.map(error, resource: "topic", id: id)
        }
    }

    public func updateTopic(id: String, name: String?) async throws -> Topic {
        let query: PostgresQuery = """
            UPDATE topics SET name = COALESCE(\(name), name), updated_at = now() WHERE id = \(id)
            RETURNING id, name, created_at, updated_at
            """
        return try await one(query, committed: true, resource: "topic", id: id, decode: Self.topic)
    }

    public func topic(id: String) async throws -> Topic {
        let query: PostgresQuery = "SELECT id, name, created_at, updated_at FROM topics WHERE id = \(id)"
        return try await one(query, resource: "topic", id: id, decode: Self.topic)
    }

    public func topics(_ filter: ListFilter) async throws -> [Topic] {
        try await all(filter.query(select: Self.topicColumns, from: "topics"), decode: Self.topic)
    }

    /// Deletes the topic and, by cascade, its subscriptions, messages, deliveries and attempts.
    public func deleteTopic(id: String) async throws {
        try await delete(from: "topics", id: id, resource: "topic")
    }
}
