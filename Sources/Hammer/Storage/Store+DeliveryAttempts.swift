import Foundation
import PostgresNIO

extension Store {
    private static let attemptColumns =
        "id, delivery_id, request, response, response_status_code, execution_duration, success, error, error_kind, created_at"

    private static func attempt(_ row: PostgresRow) throws -> DeliveryAttempt {
        let (id, deliveryID, request, response, statusCode, duration, success, error, errorKind, createdAt) =
            try row.decode((String, String, String, String, Int, Int, Bool, String, String, Date).self)
        return DeliveryAttempt(
            id: id,
            deliveryID: deliveryID,
            request: request,
            response: response,
            responseStatusCode: statusCode,
            executionDuration: duration,
            success: success,
            error: error,
            errorKind: errorKind,
            createdAt: createdAt
        )
    }

    public func deliveryAttempt(id: String) async throws -> DeliveryAttempt {
        let query: PostgresQuery = "SELECT \(unescaped: Self.attemptColumns) FROM delivery_attempts WHERE id = \(id)"
        return try await one(query, resource: "delivery_attempt", id: id, decode: Self.attempt)
    }

    public func deliveryAttempts(_ filter: ListFilter) async throws -> [DeliveryAttempt] {
        try await all(filter.query(select: Self.attemptColumns, from: "delivery_attempts"), decode: Self.attempt)
    }
}
