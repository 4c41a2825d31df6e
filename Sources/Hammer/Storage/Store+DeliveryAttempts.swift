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

    /// A page of `filter`'s attempts, each dump cut to its first `maxDumpCharacters` characters, with the stored
    /// sizes in bytes (`octet_length` reads a stored value's size without fetching or decompressing it): what the
    /// console shows at once, however large the stored dumps are.
    public func deliveryAttemptsCut(_ filter: ListFilter, maxDumpCharacters: Int) async throws -> [CutAttempt] {
        let columns = """
            id, delivery_id, left(request, \(maxDumpCharacters)), left(response, \(maxDumpCharacters)), response_status_code, \
            execution_duration, success, error, error_kind, created_at, octet_length(request), octet_length(response)
            """
        // The attempt's own columns come first; the lengths follow.
        return try await all(filter.query(select: columns, from: "delivery_attempts")) { row in
            let cells = row.makeRandomAccess()
            return CutAttempt(
                attempt: try Self.attempt(row),
                requestBytes: try cells[10].decode(Int.self),
                responseBytes: try cells[11].decode(Int.self)
            )
        }
    }
}
