import Foundation
import Logging
import PostgresNIO

/// One numbered migration file pair, golang-migrate style (`000001_name.up.sql` / `.down.sql`).
public struct Migration: Sendable, Equatable {
    public var version: Int64
    public var name: String
    public var up: String
    public var down: String?
}

/// Applies migrations and records the version in `schema_migrations(version, dirty)` as golang-migrate does.
/// Each file runs in one transaction, one statement per query, under an advisory lock.
public struct Migrator: Sendable {
    /// The schema version this build of hammer was built for; `server` and `worker` refuse older schemas, and newer
    /// ones whose `schema_compatibility` (migration 11) says binaries built for this version cannot run with them.
    public static let requiredVersion: Int64 = 14
    private static let lockID: Int64 = 0x6861_6D6D_6572  // "hammer"

    public struct SchemaState: Sendable, Equatable {
        public var version: Int64?
        public var dirty: Bool

        public init(version: Int64?, dirty: Bool) {
            self.version = version
            self.dirty = dirty
        }
    }

    public struct MigrationError: Error, CustomStringConvertible {
        public var description: String
    }

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The migrations built into this binary, sorted by version.
    public static func embedded() throws -> [Migration] {
        try migrations(EmbeddedMigrations.files.map { ($0.name, String(decoding: $0.contents, as: UTF8.self)) })
    }

    /// `directory`'s migrations when one is given (`--path` or `HAMMER_MIGRATIONS_PATH`), else the embedded ones.
    public static func load(directory: String?) throws -> [Migration] {
        guard let directory else { return try embedded() }
        return try load(directory: directory)
    }

    /// Reads `NNNNNN_name.up.sql` (and the matching `.down.sql`) from `directory`, sorted by version.
    public static func load(directory: String) throws -> [Migration] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw MigrationError(description: "cannot read migrations directory \"\(directory)\" (check --path or HAMMER_MIGRATIONS_PATH)")
        }
        // A down file that cannot be read leaves its migration without one, as golang-migrate allows.
        var contents: [(name: String, contents: String)] = []
        for file in files.sorted() where file.hasSuffix(".up.sql") || file.hasSuffix(".down.sql") {
            let path = "\(directory)/\(file)"
            if file.hasSuffix(".up.sql") {
                contents.append((file, try String(contentsOfFile: path, encoding: .utf8)))
            } else if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                contents.append((file, text))
            }
        }
        return try migrations(contents)
    }

    /// The migrations of `files` (name and contents): each `NNNNNN_name.up.sql` with its `.down.sql`, if any.
    static func migrations(_ files: [(name: String, contents: String)]) throws -> [Migration] {
        let contents = Dictionary(files, uniquingKeysWith: { first, _ in first })
        var migrations: [Int64: Migration] = [:]
        for file in contents.keys.sorted() where file.hasSuffix(".up.sql") {
            let stem = String(file.dropLast(".up.sql".count))
            guard let underscore = stem.firstIndex(of: "_"), let version = Int64(stem[..<underscore]) else {
                throw MigrationError(description: "migration file \"\(file)\" is not named NNNNNN_name.up.sql")
            }
            if migrations[version] != nil {
                throw MigrationError(description: "two migrations have version \(version)")
            }
            migrations[version] = Migration(
                version: version,
                name: String(stem[stem.index(after: underscore)...]),
                up: contents[file] ?? "",
                down: contents["\(stem).down.sql"]
            )
        }
        return migrations.values.sorted { $0.version < $1.version }
    }

    /// The recorded schema version, or `nil` when nothing was ever applied.
    public func state() async throws -> SchemaState {
        let exists =
            try await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
            .collect().first?.decode(Bool.self) ?? false
        guard exists else { return SchemaState(version: nil, dirty: false) }
        let rows = try await client.query("SELECT version, dirty FROM schema_migrations LIMIT 1", logger: logger).collect()
        guard let row = rows.first else { return SchemaState(version: nil, dirty: false) }
        let (version, dirty) = try row.decode((Int64, Bool).self)
        return SchemaState(version: version, dirty: dirty)
    }

    /// Throws a message telling the operator to run `hammer migrate` when the schema is behind or dirty, or to upgrade
    /// this binary when the schema is newer and no longer lets binaries built for `requiredVersion` run with it.
    public func requireCurrentSchema() async throws {
        let state = try await state()
        if state.dirty {
            throw MigrationError(
                description: "schema_migrations is dirty at version \(state.version ?? 0): fix the database, then run `hammer migrate`"
            )
        }
        guard let version = state.version, version >= Self.requiredVersion else {
            let found = state.version.map { "version \($0)" } ?? "no migrations"
            throw MigrationError(description: "database schema is behind (\(found), need \(Self.requiredVersion)): run `hammer migrate`")
        }
        let oldest = try await client.query("SELECT oldest_binary_schema FROM schema_compatibility", logger: logger)
            .collect().first?.decode(Int64.self)
        if let oldest, Self.requiredVersion < oldest {
            throw MigrationError(
                description: "database schema is at version \(version), which needs a hammer built for schema \(oldest) or newer; "
                    + "this binary (\(HammerVersion.current)) is built for schema \(Self.requiredVersion): upgrade it before starting it"
            )
        }
    }

    /// Applies every migration newer than the recorded version; returns the versions applied. Then, on a schema with
    /// time partitions, makes those of `partitioning`'s interval ahead (the partitioning migration also takes its
    /// interval for the partitions it makes).
    @discardableResult
    public func up(_ migrations: [Migration], partitioning: Partitioning = Partitioning()) async throws -> [Int64] {
        let applied = try await withLock { connection in
            let current = try await self.lockedState(connection)
            var applied: [Int64] = []
            for migration in migrations where migration.version > (current ?? 0) {
                try await self.apply(migration.up, recording: migration.version, on: connection, partitioning: partitioning)
                self.logger.info(
                    "migration applied",
                    metadata: ["hammer.migration.version": "\(migration.version)", "hammer.migration.name": "\(migration.name)"]
                )
                applied.append(migration.version)
            }
            return applied
        }
        let partitioned =
            try await client.query("SELECT to_regclass('partition_periods') IS NOT NULL", logger: logger)
            .collect().first?.decode(Bool.self) ?? false
        if partitioned {
            try await Store(client: client, logger: logger).addPartitions(partitioning, wait: true)
        }
        return applied
    }

    /// Reverts the newest `steps` applied migrations; returns the versions reverted.
    @discardableResult
    public func down(_ migrations: [Migration], steps: Int) async throws -> [Int64] {
        try await withLock { connection in
            var reverted: [Int64] = []
            for _ in 0..<steps {
                guard let current = try await self.lockedState(connection) else { break }
                guard let migration = migrations.first(where: { $0.version == current }), let down = migration.down else {
                    throw MigrationError(description: "no down migration for version \(current)")
                }
                let previous = migrations.last(where: { $0.version < current })?.version
                try await self.apply(down, recording: previous, on: connection)
                self.logger.info("migration reverted", metadata: ["hammer.migration.version": "\(current)"])
                reverted.append(current)
            }
            return reverted
        }
    }

    private func withLock<Value: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> Value) async throws -> Value {
        try await client.withConnection { connection in
            // A migration may build an index on a large table, and the lock may wait for another migrator.
            try await connection.query("SET statement_timeout = 0", logger: self.logger)
            let result: Result<Value, any Error>
            do {
                result = .success(try await self.locked(connection, body))
            } catch {
                result = .failure(error)
            }
            _ = try? await connection.query("RESET statement_timeout", logger: self.logger)
            return try result.get()
        }
    }

    private func locked<Value: Sendable>(
        _ connection: PostgresConnection,
        _ body: @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        try await connection.query("SELECT pg_advisory_lock(\(Self.lockID))", logger: self.logger)
        do {
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)",
                logger: self.logger
            )
            let result = try await body(connection)
            try await connection.query("SELECT pg_advisory_unlock(\(Self.lockID))", logger: self.logger)
            return result
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: self.logger)
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockID))", logger: self.logger)
            throw error
        }
    }

    private func lockedState(_ connection: PostgresConnection) async throws -> Int64? {
        let rows = try await connection.query("SELECT version, dirty FROM schema_migrations LIMIT 1", logger: logger).collect()
        guard let row = rows.first else { return nil }
        let (version, dirty) = try row.decode((Int64, Bool).self)
        if dirty {
            throw MigrationError(description: "schema_migrations is dirty at version \(version): fix the database by hand, then set dirty = false")
        }
        return version
    }

    /// Runs `script` in one transaction and records `version`. The partitioning migration reads the interval for the
    /// periods it makes from a setting local to that transaction.
    private func apply(
        _ script: String,
        recording version: Int64?,
        on connection: PostgresConnection,
        partitioning: Partitioning = Partitioning()
    ) async throws {
        try await connection.query("BEGIN", logger: logger)
        try await connection.query(
            "SELECT set_config('hammer.partition_interval_seconds', \(String(partitioning.interval.components.seconds)), true)",
            logger: logger
        )
        for statement in SQLStatements.split(script) {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        try await connection.query("DELETE FROM schema_migrations", logger: logger)
        if let version {
            try await connection.query("INSERT INTO schema_migrations (version, dirty) VALUES (\(version), false)", logger: logger)
        }
        try await connection.query("COMMIT", logger: logger)
    }
}
