import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// All database access: one extension per resource (`Store+Topics.swift` …), SQL next to its decoding.
public struct Store: Sendable {
    public let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// How long a database call may take, waiting for a connection included, before the caller gets
    /// `unavailable` (503) instead of hanging while PostgreSQL is down.
    static let deadline: Duration = .seconds(10)

    /// Runs `operation`, failing with `unavailable` after `deadline`. The operation runs in its own task and is
    /// not awaited past the deadline: a query on a connection that died mid-flight can stay pending forever
    /// (seen after an immediate PostgreSQL restart), and waiting for it would stall the caller for good.
    func bounded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let race = FirstResult<T>()
        let work = Task {
            do { race.finish(.success(try await operation())) } catch { race.finish(.failure(error)) }
        }
        let timer = Task {
            try? await Task.sleep(for: Self.deadline)
            if race.finish(.failure(HammerError.databaseUnavailable)) {
                work.cancel()
            }
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await race.value()
        } onCancel: {
            work.cancel()
        }
    }

    /// Runs `query` and decodes every row as `Row`; `committed` for writes a caller acknowledges (see `onConnection`).
    func all<Row: Sendable>(_ query: PostgresQuery, committed: Bool = false, decode: (PostgresRow) throws -> Row) async throws -> [Row] {
        let logger = self.logger
        let rows = try await onConnection(committed: committed) { connection in try await connection.query(query, logger: logger).collect() }
        return try rows.map(decode)
    }

    /// Runs a prepared statement and collects its rows, within `deadline`; `committed` as for `all`.
    func execute<Statement: PostgresPreparedStatement>(_ statement: Statement, committed: Bool = false) async throws -> [Statement.Row]
    where Statement.Row: Sendable {
        let logger = self.logger
        return try await onConnection(committed: committed) { connection in
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
    private func onConnection<T: Sendable>(committed: Bool, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = self.client
        let logger = self.logger
        return try await bounded {
            try await client.withConnection { connection in
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
        }
    }

    /// Runs `query` and decodes its first row, if any.
    func first<Row: Sendable>(_ query: PostgresQuery, committed: Bool = false, decode: (PostgresRow) throws -> Row) async throws -> Row? {
        try await all(query, committed: committed, decode: decode).first
    }

    /// Runs `query` and decodes its first row; throws `<resource>_does_not_exists` when there is none.
    func one<Row: Sendable>(
        _ query: PostgresQuery, committed: Bool = false, resource: String, id: String, decode: (PostgresRow) throws -> Row
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
        return (try? await bounded { try await client.query("SELECT 1", logger: logger).collect() }) != nil
    }
}

/// The first of several results (the operation or its deadline); later ones are dropped.
private final class FirstResult<T: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<T, any Error>?)
        case finished(Result<T, any Error>)
        case delivered
    }

    private let state = NIOLockedValueBox(State.waiting(nil))

    /// Records `result` if it is the first; returns whether it was.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let continuation: CheckedContinuation<T, any Error>?
        switch state.withLockedValue({ state -> (Bool, CheckedContinuation<T, any Error>?) in
            guard case .waiting(let waiting) = state else { return (false, nil) }
            state = waiting == nil ? .finished(result) : .delivered
            return (true, waiting)
        }) {
        case (false, _): return false
        case (true, let waiting): continuation = waiting
        }
        continuation?.resume(with: result)
        return true
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<T, any Error>? = state.withLockedValue { state in
                switch state {
                case .waiting:
                    state = .waiting(continuation)
                    return nil
                case .finished(let result):
                    state = .delivered
                    return result
                case .delivered:
                    return .failure(HammerError.internalError)
                }
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
