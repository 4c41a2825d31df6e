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
            SELECT id, request, response, response_status_code, execution_duration, success, error, created_at
            FROM callback_attempts WHERE callback_id = \(id) ORDER BY created_at, id
            """
        callback.attemptRecords = try await all(attempts) { row in
            let (id, request, response, status, duration, success, error, createdAt) =
                try row.decode((String, String, String, Int, Int, Bool, String, Date).self)
            return Callback.Attempt(
                id: id,
                request: request,
                response: response,
                responseStatusCode: status,
                executionDuration: duration,
                success: success,
                error: error,
                createdAt: createdAt
            )
        }
        return callback
    }

    public func callbacks(_ filter: ListFilter) async throws -> [Callback] {
        try await all(filter.query(select: Self.callbackColumns, from: "callbacks"), decode: Self.callback)
    }
}
