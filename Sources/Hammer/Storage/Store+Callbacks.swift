import Foundation
import PostgresNIO

extension Store {
    private static let callbackColumns = "id, subscription_id, type, delivery_id, url, body, status, attempts, scheduled_at, created_at, updated_at"

    private static func callback(_ row: PostgresRow) throws -> Callback {
        var columns = ColumnReader(row)
        return Callback(
            id: try columns.next(),
            subscriptionID: try columns.next(),
            type: Callback.EventType(rawValue: try columns.next()) ?? .deliveryFailed,
            deliveryID: try columns.next(),
            url: try columns.next(),
            body: try columns.next(),
            status: Delivery.Status(rawValue: try columns.next()) ?? .pending,
            attempts: try columns.next(),
            scheduledAt: try columns.next(),
            createdAt: try columns.next(),
            updatedAt: try columns.next()
        )
    }

    /// A callback with every attempt made to send it, oldest first.
    public func callback(id: String) async throws -> Callback {
        let query: PostgresQuery = "SELECT \(unescaped: Self.callbackColumns) FROM callbacks WHERE id = \(id)"
        var callback = try await one(query, resource: "callback", id: id, decode: Self.callback)
        let attempts: PostgresQuery = """
            SELECT id, \(unescaped: Self.attemptRecordColumns) FROM callback_attempts WHERE callback_id = \(id) ORDER BY created_at, id
            """
        callback.attemptRecords = try await all(attempts) { row in
            var columns = ColumnReader(row)
            return Callback.Attempt(id: try columns.next(), record: try Self.attemptRecord(&columns))
        }
        return callback
    }

    public func callbacks(_ filter: ListFilter) async throws -> [Callback] {
        try await all(filter.query(select: Self.callbackColumns, from: "callbacks"), decode: Self.callback)
    }
}
