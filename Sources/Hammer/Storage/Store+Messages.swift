import Foundation
import PostgresNIO

extension Message {
    /// The message `request` created.
    init(_ request: PublishRequest, id: String, createdAt: Date) {
        self.init(
            id: id,
            topicID: request.topicID,
            contentType: request.contentType,
            data: request.dataBase64,
            eventType: request.eventType,
            createdAt: createdAt
        )
    }
}

extension Store {
    /// The channel `NOTIFY`d when a publish creates deliveries; workers `LISTEN` on it.
    /// Also named in `hammer_publish` (migration 2).
    public static let deliveriesChannel = "hammer_deliveries"

    private static let messageColumns = "id, topic_id, content_type, data, event_type, created_at"

    private static func message(_ row: PostgresRow) throws -> Message {
        let (id, topicID, contentType, data, eventType, createdAt) = try row.decode((String, String, String, String, String?, Date).self)
        return Message(id: id, topicID: topicID, contentType: contentType, data: data, eventType: eventType, createdAt: createdAt)
    }

    /// Writes `groups` in one CALL of `hammer_publish` (migration 7), which commits before it answers, so nothing is
    /// acknowledged before it is durable. Each group (one API request) is written whole or not at all; with a key,
    /// the key is recorded in the same transaction, live for `keyTTL`. Returns `created_at` by message id. `settled` is called once the
    /// CALL has ended on its connection, which may be after this answered 503.
    func publishBatch(
        _ groups: [PublishGroup],
        keyTTL: Duration = .seconds(86400),
        settled: (@Sendable () -> Void)? = nil
    ) async throws -> [String: Date] {
        let statement = PublishStatement(groups: groups, keyTTL: keyTTL)
        guard let (ids, dates) = try await execute(statement, settled: settled).first else { return [:] }
        return Dictionary(uniqueKeysWithValues: zip(ids ?? [], dates ?? []))
    }

    /// Publishes one message on its own (no batching); throws `topic_does_not_exists` for an unknown topic.
    public func publish(_ request: PublishRequest) async throws -> Message {
        let group = PublishGroup(ids: [ULID.make()], requests: [request], key: nil)
        let created = try await publishBatch([group])
        guard case .published(let messages) = group.outcome(created: created), let message = messages.first else {
            throw HammerError.doesNotExist("topic", id: request.topicID)
        }
        return message
    }

    /// The live record of an idempotency key: the hash of what it was used for and the messages it created.
    public func idempotencyRecord(_ key: IdempotencyKey) async throws -> (requestHash: String, messageIDs: [String])? {
        let query: PostgresQuery = """
            SELECT request_hash, message_ids FROM idempotency_keys WHERE scope = \(key.scope) AND key = \(key.key) AND expires_at > now()
            """
        return try await first(query) { try $0.decode((String, [String]).self) }
    }

    /// Drops `key`'s record if it still names `messageIDs` (another server may have replaced it meanwhile).
    public func deleteIdempotencyRecord(_ key: IdempotencyKey, messageIDs: [String]) async throws {
        let query: PostgresQuery = """
            DELETE FROM idempotency_keys WHERE scope = \(key.scope) AND key = \(key.key) AND message_ids = \(messageIDs)::text[]
            """
        _ = try await all(query, committed: true) { _ in () }
    }

    /// The messages `ids` names, in that order (those deleted since are left out).
    public func messages(ids: [String]) async throws -> [Message] {
        let query: PostgresQuery = "SELECT \(unescaped: Self.messageColumns) FROM messages WHERE id = ANY(\(ids)::text[])"
        let found = Dictionary(uniqueKeysWithValues: try await all(query, decode: Self.message).map { ($0.id, $0) })
        return ids.compactMap { found[$0] }
    }

    /// The first of `topicIDs` that does not exist, if any.
    public func firstMissingTopic(_ topicIDs: [String]) async throws -> String? {
        let query: PostgresQuery = "SELECT id FROM topics WHERE id = ANY(\(topicIDs)::text[])"
        let existing = Set(try await all(query) { try $0.decode(String.self) })
        return topicIDs.first { !existing.contains($0) }
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

/// One API request's messages, written together or not at all.
struct PublishGroup: Sendable {
    var ids: [String]
    var requests: [PublishRequest]
    var key: IdempotencyKey?

    /// What became of the group, given the `created_at` of every message the CALL created.
    func outcome(created: [String: Date]) -> PublishOutcome {
        guard let first = ids.first, created[first] != nil else { return key == nil ? .unknownTopic : .keyTakenOrUnknownTopic }
        return .published(zip(ids, requests).map { id, request in Message(request, id: id, createdAt: created[id] ?? Date()) })
    }
}

/// The publish call, prepared once per connection. The SQL is in `migrations/000007_batch_idempotency_outbox.up.sql`:
/// a procedure, because only a procedure can commit before the call answers.
struct PublishStatement: PostgresPreparedStatement {
    typealias Row = ([String]?, [Date]?)

    static let sql = """
        CALL hammer_publish($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[],
            $10::float8, NULL, NULL)
        """

    let groups: [PublishGroup]
    let keyTTL: Duration

    func makeBindings() throws -> PostgresBindings {
        var ids: [String] = []
        var requests: [PublishRequest] = []
        var numbers: [Int32] = []
        var keys: [IdempotencyKey?] = []
        for (number, group) in groups.enumerated() {
            ids += group.ids
            requests += group.requests
            numbers += Array(repeating: Int32(number), count: group.ids.count)
            keys += Array(repeating: group.key, count: group.ids.count)
        }
        var bindings = PostgresBindings(capacity: 10)
        bindings.append(ids)
        bindings.append(requests.map(\.topicID))
        bindings.append(requests.map(\.contentType))
        bindings.append(requests.map(\.dataBase64))
        bindings.append(requests.map { $0.eventType ?? "" })
        bindings.append(numbers)
        bindings.append(keys.map { $0?.scope ?? "" })
        bindings.append(keys.map { $0?.key ?? "" })
        bindings.append(keys.map { $0?.requestHash ?? "" })
        bindings.append(keyTTL.inSeconds)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}
