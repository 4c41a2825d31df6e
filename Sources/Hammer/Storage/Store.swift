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

    /// How long a caller waits for a pooled connection before it gets `unavailable` (503) with nothing sent, instead
    /// of hanging while PostgreSQL is down.
    static let connectionDeadline: Duration = .seconds(10)

    /// PostgreSQL's `statement_timeout` on every connection (`DatabaseURL.clientConfiguration`): the server cancels
    /// a statement that runs longer, so it cannot commit after its caller was told it failed.
    public static let statementTimeout: Duration = .seconds(8)

    /// How long a caller waits for its statements once it holds a connection: longer than `statementTimeout`, so by
    /// then the server has cancelled them, unless the connection itself died (see docs/api.md, "What a 503 means").
    static let statementDeadline: Duration = .seconds(10)

    /// Runs `operation`, failing with `unavailable` when no connection came within `connectionDeadline` or its
    /// statements did not answer within `statementDeadline` of getting one. The operation runs in its own task and
    /// is not awaited past the deadline: a query on a connection that died mid-flight can stay pending forever
    /// (seen after an immediate PostgreSQL restart), and waiting for it would stall the caller for good.
    func bounded<T: Sendable>(
        settled: (@Sendable () -> Void)? = nil,
        _ operation: @escaping @Sendable (MovableDeadline) async throws -> T
    ) async throws -> T {
        try await DeadlineRace.run(
            until: MovableDeadline(.now + Self.connectionDeadline),
            onDeadline: { .failure(HammerError.databaseUnavailable) },
            settled: settled,
            operation
        )
    }

    /// Runs `query` and decodes every row as `Row`; `committed` for writes a caller acknowledges (see `onConnection`).
    func all<Row: Sendable>(_ query: PostgresQuery, committed: Bool = false, decode: (PostgresRow) throws -> Row) async throws -> [Row] {
        let logger = self.logger
        let rows = try await onConnection(committed: committed) { connection in try await connection.query(query, logger: logger).collect() }
        return try rows.map(decode)
    }

    /// Runs a prepared statement and collects its rows, within `deadline`; `committed` as for `all`; `settled` as
    /// for `bounded`.
    func execute<Statement: PostgresPreparedStatement>(
        _ statement: Statement,
        committed: Bool = false,
        settled: (@Sendable () -> Void)? = nil
    ) async throws -> [Statement.Row]
    where Statement.Row: Sendable {
        let logger = self.logger
        return try await onConnection(committed: committed, settled: settled) { connection in
            var rows: [Statement.Row] = []
            for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
            return rows
        }
    }

    /// Runs `body` on a pooled connection within `deadline`. With `committed`, inside BEGIN … COMMIT and returning
    /// only once COMMIT has answered. Without it, a statement runs in the protocol's implicit transaction, which
    /// commits at the Sync after the statement's result: a connection killed in between (a fast or immediate
    /// shutdown) leaves the caller holding rows of a transaction that never committed. Seen in the chaos test as an
    /// acknowledged publish that was gone after the restart.
    private func onConnection<T: Sendable>(
        committed: Bool,
        settled: (@Sendable () -> Void)? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let client = self.client
        let logger = self.logger
        @Sendable func run(_ connection: PostgresConnection) async throws -> T {
            guard committed else { return try await body(connection) }
            try await connection.query("BEGIN", logger: logger)
            let value: T
            do {
                value = try await body(connection)
            } catch {
                // Not cancellable: a connection must never go back to the pool inside a transaction.
                let rolledBack = await Task { (try? await connection.query("ROLLBACK", logger: logger)) != nil }.value
                if !rolledBack { try? await connection.close() }
                throw error
            }
            try await connection.query("COMMIT", logger: logger)
            return value
        }
        return try await bounded(settled: settled) { deadline in
            try await client.withConnection { connection in
                deadline.move(to: .now + Self.statementDeadline)
                do {
                    return try await run(connection)
                } catch  where PostgresErrorMapping.isMissingPartition(error) {
                    // Workers make partitions ahead; with none running for two intervals, the first write past the
                    // last partition makes them (the width of the newest) and goes again: an insert never fails for it.
                    logger.warning("no partition for a new row: making partitions (is a worker running?)")
                    try await connection.query("SELECT hammer_add_partitions(NULL, NULL, true, '5s')", logger: logger)
                    return try await run(connection)
                }
            }
        }
    }

    /// Runs `query` and decodes its first row, if any.
    func first<Row: Sendable>(_ query: PostgresQuery, committed: Bool = false, decode: (PostgresRow) throws -> Row) async throws -> Row? {
        try await all(query, committed: committed, decode: decode).first
    }

    /// Runs `query` and decodes its first row; throws `<resource>_does_not_exists` when there is none.
    func one<Row: Sendable>(
        _ query: PostgresQuery,
        committed: Bool = false,
        resource: String,
        id: String,
        decode: (PostgresRow) throws -> Row
    ) async throws -> Row {
        guard let row = try await first(query, committed: committed, decode: decode) else { throw HammerError.doesNotExist(resource, id: id) }
        return row
    }

    /// Deletes the row `id` of `table` (cascading as the schema says); throws when it does not exist.
    func delete(from table: String, id: String, resource: String) async throws {
        _ = try await one("DELETE FROM \(unescaped: table) WHERE id = \(id) RETURNING id", committed: true, resource: resource, id: id) {
            try $0.decode(String.self)
        }
    }

    /// `SELECT 1` against the database: true when it answers.
    public func ping() async -> Bool {
        let client = self.client
        let logger = self.logger
        return (try? await bounded { _ in try await client.query("SELECT 1", logger: logger).collect() }) != nil
    }
}
