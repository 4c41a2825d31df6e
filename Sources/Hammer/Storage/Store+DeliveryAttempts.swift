import Foundation
import PostgresNIO

extension Store {
    /// The columns of an `AttemptRecord`, in the order `attemptRecord` reads them (a callback attempt's whole record).
    static let attemptRecordColumns = "request, response, response_status_code, execution_duration, success, error, error_kind, created_at"
    /// An attempt's columns, then what rebuilds a body its record leaves out: the delivery's ids and its message
    /// (whose data is read only for such an attempt).
    private static let attemptColumns = """
        a.id, a.delivery_id, a.request, a.response, a.response_status_code, a.execution_duration, a.success, a.error, a.error_kind, \
        a.created_at, a.request_body, d.topic_id, d.subscription_id, d.message_id, m.content_type, m.event_type, m.created_at, \
        CASE WHEN a.request_body <> 0 THEN m.data END
        """
    private static let attemptTables = "delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN messages m ON m.id = d.message_id"

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

    /// An attempt with its whole request: a body the record left out is rebuilt as it was sent.
    private static func attempt(_ row: PostgresRow) throws -> DeliveryAttempt {
        var columns = ColumnReader(row)
        let id: String = try columns.next()
        let deliveryID: String = try columns.next()
        var record = try attemptRecord(&columns)
        let recordedBody = RecordedBody(rawValue: try columns.next(Int16.self)) ?? .stored
        let (topicID, subscriptionID, messageID): (String, String, String) = (try columns.next(), try columns.next(), try columns.next())
        let (contentType, eventType, publishedAt): (String, String?, Date) = (try columns.next(), try columns.next(), try columns.next())
        if let data = try columns.next(String?.self) {
            // The body depends on these fields only; the rest of a claimed delivery plays no part in it.
            let sent = ClaimedDelivery(
                id: deliveryID,
                topicID: topicID,
                subscriptionID: subscriptionID,
                messageID: messageID,
                contentType: contentType,
                dataBase64: data,
                eventType: eventType,
                publishedAt: publishedAt,
                url: "",
                secretToken: "",
                maxDeliveryAttempts: 0,
                deliveryAttemptDelay: 0,
                deliveryAttemptTimeout: 0,
                deliveryAttempts: 0,
                lease: 0
            )
            record.request += recordedBody.body(of: sent) ?? ""
        }
        return DeliveryAttempt(id: id, deliveryID: deliveryID, record: record)
    }

    public func deliveryAttempt(id: String) async throws -> DeliveryAttempt {
        let query: PostgresQuery = "SELECT \(unescaped: Self.attemptColumns) FROM \(unescaped: Self.attemptTables) WHERE a.id = \(id)"
        return try await one(query, resource: "delivery_attempt", id: id, decode: Self.attempt)
    }

    public func deliveryAttempts(_ filter: ListFilter) async throws -> [DeliveryAttempt] {
        try await all(filter.query(select: Self.attemptColumns, from: Self.attemptTables, alias: "a"), decode: Self.attempt)
    }

    /// A page of `filter`'s attempts, each dump cut to its first `maxDumpCharacters` characters (Unicode scalars, as
    /// PostgreSQL counts them), with the whole dumps' sizes in bytes: what the console shows at once. A stored dump is
    /// cut by PostgreSQL (`octet_length` reads its size without fetching it); a rebuilt body is cut here.
    public func deliveryAttemptsCut(_ filter: ListFilter, maxDumpCharacters: Int) async throws -> [CutAttempt] {
        let columns = """
            a.id, a.delivery_id, CASE WHEN a.request_body = 0 THEN left(a.request, \(maxDumpCharacters)) ELSE a.request END, \
            left(a.response, \(maxDumpCharacters)), a.response_status_code, a.execution_duration, a.success, a.error, a.error_kind, a.created_at, \
            a.request_body, d.topic_id, d.subscription_id, d.message_id, m.content_type, m.event_type, m.created_at, \
            CASE WHEN a.request_body <> 0 THEN m.data END, octet_length(a.request), octet_length(a.response)
            """
        return try await all(filter.query(select: columns, from: Self.attemptTables, alias: "a")) { row in
            let cells = row.makeRandomAccess()
            var attempt = try Self.attempt(row)
            var requestBytes = try cells[18].decode(Int.self)
            if try cells[10].decode(Int16.self) != RecordedBody.stored.rawValue {
                requestBytes = attempt.record.request.utf8.count
                attempt.record.request = String(String.UnicodeScalarView(attempt.record.request.unicodeScalars.prefix(maxDumpCharacters)))
            }
            return CutAttempt(attempt: attempt, requestBytes: requestBytes, responseBytes: try cells[19].decode(Int.self))
        }
    }
}
