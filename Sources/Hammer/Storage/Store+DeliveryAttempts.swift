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

    /// An attempt with its whole request: a body the record left out is rebuilt as it was sent. The row's columns
    /// are `attemptColumns`; without the message's data (NULL) the record is left as stored.
    private static func attempt(_ row: PostgresRow) throws -> DeliveryAttempt {
        var columns = ColumnReader(row)
        let id: String = try columns.next()
        let deliveryID: String = try columns.next()
        var record = try attemptRecord(&columns)
        let recordedBody = RecordedBody(rawValue: try columns.next(Int16.self)) ?? .stored
        if let sent = try sentDelivery(deliveryID, &columns) {
            record.request += recordedBody.body(of: sent) ?? ""
        }
        return DeliveryAttempt(id: id, deliveryID: deliveryID, record: record)
    }

    /// The delivery as its body was built from, from the columns `d.topic_id, d.subscription_id, d.message_id,
    /// m.content_type, m.event_type, m.created_at, m.data`; `nil` when the data was not read.
    private static func sentDelivery(_ deliveryID: String, _ columns: inout ColumnReader) throws -> ClaimedDelivery? {
        let (topicID, subscriptionID, messageID): (String, String, String) = (try columns.next(), try columns.next(), try columns.next())
        let (contentType, eventType, publishedAt): (String, String?, Date) = (try columns.next(), try columns.next(), try columns.next())
        guard let data = try columns.next(String?.self) else { return nil }
        // The body depends on these fields only; the rest of a claimed delivery plays no part in it.
        return ClaimedDelivery(
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
    /// cut by PostgreSQL (`octet_length` reads its size without fetching it); a body left out of the record is
    /// rebuilt from its message, read once per delivery, and cut here.
    public func deliveryAttemptsCut(_ filter: ListFilter, maxDumpCharacters: Int) async throws -> [CutAttempt] {
        // `attemptColumns` with the dumps cut and, in place of the message's columns, placeholders: `attempt` then leaves
        // the record as stored, and the bodies left out are rebuilt below from one read per delivery.
        let columns = """
            a.id, a.delivery_id, left(a.request, \(maxDumpCharacters)), left(a.response, \(maxDumpCharacters)), a.response_status_code, \
            a.execution_duration, a.success, a.error, a.error_kind, a.created_at, a.request_body, '', '', '', '', NULL::text, now(), NULL::text, \
            octet_length(a.request), octet_length(a.response)
            """
        var cut = try await all(filter.query(select: columns, from: "delivery_attempts a", alias: "a")) { row in
            let cells = row.makeRandomAccess()
            return (
                attempt: CutAttempt(
                    attempt: try Self.attempt(row),
                    requestBytes: try cells[18].decode(Int.self),
                    responseBytes: try cells[19].decode(Int.self)
                ),
                body: RecordedBody(rawValue: try cells[10].decode(Int16.self)) ?? .stored
            )
        }
        let rebuilt = Set(cut.filter { $0.body != .stored }.map(\.attempt.attempt.deliveryID))
        guard !rebuilt.isEmpty else { return cut.map(\.attempt) }
        let sent = try await all(
            """
            SELECT d.id, d.topic_id, d.subscription_id, d.message_id, m.content_type, m.event_type, m.created_at, m.data
            FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.id = ANY(\(Array(rebuilt)))
            """
        ) { row in
            var columns = ColumnReader(row)
            let id: String = try columns.next()
            return try Self.sentDelivery(id, &columns)
        }
        let deliveries = Dictionary(sent.compactMap { $0.map { ($0.id, $0) } }, uniquingKeysWith: { first, _ in first })
        for index in cut.indices where cut[index].body != .stored {
            guard let delivery = deliveries[cut[index].attempt.attempt.deliveryID] else { continue }
            // The head is already cut when it alone is longer than what is shown; then the body adds nothing shown.
            let body = cut[index].body.body(of: delivery) ?? ""
            let shown = cut[index].attempt.attempt.record.request + body
            cut[index].attempt.requestBytes += body.utf8.count
            cut[index].attempt.attempt.record.request = String(String.UnicodeScalarView(shown.unicodeScalars.prefix(maxDumpCharacters)))
        }
        return cut.map(\.attempt)
    }
}
