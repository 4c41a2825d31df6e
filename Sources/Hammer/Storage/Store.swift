import Logging
import PostgresNIO

/// All database access: one extension per resource (`Store+Topics.swift` …), SQL next to its decoding.
public struct Store: Sendable {
    public let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Runs `query` and decodes every row as `Row`.
    func all<Row: Sendable>(_ query: PostgresQuery, as type: Row.Type = Row.self, decode: (PostgresRow) throws -> Row) async throws -> [Row] {
        var result: [Row] = []
        for try await row in try await client.query(query, logger: logger) {
            result.append(try decode(row))
        }
        return result
    }

    /// Runs `query` and decodes its first row, if any.
    func first<Row: Sendable>(_ query: PostgresQuery, decode: (PostgresRow) throws -> Row) async throws -> Row? {
        try await all(query, decode: decode).first
    }

    /// Runs `query` and decodes its first row; throws `<resource>_does_not_exists` when there is none.
    func one<Row: Sendable>(_ query: PostgresQuery, resource: String, id: String, decode: (PostgresRow) throws -> Row) async throws -> Row {
        guard let row = try await first(query, decode: decode) else { throw HammerError.doesNotExist(resource, id: id) }
        return row
    }

    /// Deletes the row `id` of `table` (cascading as the schema says); throws when it does not exist.
    func delete(from table: String, id: String, resource: String) async throws {
        _ = try await one("DELETE FROM \(unescaped: table) WHERE id = \(id) RETURNING id", resource: resource, id: id) { try $0.decode(String.self) }
    }

    /// `SELECT 1` against the database: true when it answers.
    public func ping() async -> Bool {
        (try? await client.query("SELECT 1", logger: logger).collect()) != nil
    }
}
