import Foundation
import Hammer
import Logging
import PostgresNIO

/// Real PostgreSQL for tests: a template database migrated once per run, and a fresh copy per test.
/// The server comes from `HAMMER_TEST_DATABASE_URL` (`make test` starts one).
enum TestDatabase {
    static let logger: Logger = {
        var logger = Logger(label: "hammer-test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }()

    static let migrationsPath: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("migrations").path

    static var serverURL: DatabaseURL {
        get throws {
            guard let raw = ProcessInfo.processInfo.environment["HAMMER_TEST_DATABASE_URL"] else {
                throw SetupError("HAMMER_TEST_DATABASE_URL is not set: run the tests with `make test`, which starts PostgreSQL")
            }
            return try DatabaseURL(raw)
        }
    }

    struct SetupError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private static let templateName = "hammer_template_\(ProcessInfo.processInfo.processIdentifier)"
    private static let template = Template()

    /// Creates a migrated database for one test and drops it afterwards.
    static func withDatabase<T: Sendable>(_ body: (DatabaseURL) async throws -> T) async throws -> T {
        let server = try serverURL
        try await template.ready(server: server)
        let name = "hammer_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        try await admin(server, "CREATE DATABASE \(name) TEMPLATE \(templateName)")
        do {
            let result = try await body(server.with(database: name))
            try? await admin(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            return result
        } catch {
            try? await admin(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
    }

    /// Creates an empty (unmigrated) database for migration tests.
    static func withEmptyDatabase<T: Sendable>(_ body: (DatabaseURL) async throws -> T) async throws -> T {
        let server = try serverURL
        let name = "hammer_empty_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        try await admin(server, "CREATE DATABASE \(name) TEMPLATE template0")
        defer { Task { try? await admin(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") } }
        return try await body(server.with(database: name))
    }

    /// Runs `body` with a running client on `url`.
    @discardableResult
    static func withClient<T: Sendable>(_ url: DatabaseURL, _ body: (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: url.clientConfiguration(maxConnections: 4), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// Runs `sql` on the server's `postgres` database without hammer's statement timeout: at the start of a run,
    /// dozens of suites copy the template at once (0.3 s of server time each), which can take longer than those 8 s.
    static func admin(_ server: DatabaseURL, _ sql: String) async throws {
        var configuration = server.with(database: "postgres").clientConfiguration(maxConnections: 1)
        configuration.options.additionalStartupParameters = [("statement_timeout", "0")]
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
    }

    /// Builds the template database once per test process.
    private actor Template {
        private var task: Task<Void, any Error>?

        func ready(server: DatabaseURL) async throws {
            if task == nil {
                task = Task {
                    try await TestDatabase.admin(server, "DROP DATABASE IF EXISTS \(TestDatabase.templateName) WITH (FORCE)")
                    try await TestDatabase.admin(server, "CREATE DATABASE \(TestDatabase.templateName) TEMPLATE template0")
                    let migrations = try Migrator.load(directory: TestDatabase.migrationsPath)
                    try await TestDatabase.withClient(server.with(database: TestDatabase.templateName)) { client in
                        try await Migrator(client: client, logger: TestDatabase.logger).up(migrations)
                    }
                }
            }
            try await task!.value
        }
    }
}
