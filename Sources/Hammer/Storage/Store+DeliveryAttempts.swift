import Foundation
import PostgresNIO

extension Store {
    /// The columns of an `AttemptRecord`, in the order `attemptRecord` reads them; delivery and callback attempts
    /// alike.
    static let attemptRecordColumns = "request, response, response_status_code, execution_duration, success, error, error_kind, created_at"
    private static let attemptColumns = "id, delivery_id, " + attemptRecordColumns

    static func attemptRecord(_ columns: inout ColumnReader) throws -> AttemptRecord {
        AttemptRecord(
            request: try columns.next(),
            response: try columns.next(),
            responseStatusCode: try columns.next(),
            executionDuration: try columns.next(),
            success: try columns.next(),
            error: try columns.next(),
            errorKind: try columns.next(),
            createdAt: try columns.next()
        )
    }

    private static func attempt(_ row: PostgresRow) throws -> DeliveryAttempt {
        var columns = ColumnReader(row)
        return DeliveryAttempt(id: try columns.next(), deliveryID: try columns.next(), record: try attemptRecord(&columns))
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
