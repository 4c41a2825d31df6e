import ArgumentParser
import Hammer
import Logging
import PostgresNIO

#if canImport(Glibc)
import Glibc
#endif

@main
struct HammerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hammer",
        abstract: "Webhook delivery server: topics, subscriptions, signed deliveries with retries.",
        discussion: "Configuration comes from HAMMER_* environment variables and .env in the working directory (see docs/operations.md).",
        version: HammerVersion.current,
        subcommands: [Migrate.self, Server.self, Worker.self, All.self, Redeliver.self, Subscriptions.self, Cleanup.self, Monitor.self]
    )
}

/// Loads the configuration and installs logging; shared by every subcommand.
struct Runtime {
    let config: Config
    let logger: Logger

    init() throws {
        config = try Config.load()
        LoggingSystem.bootstrap(format: config.logFormat, level: config.logLevel)
        var logger = Logger(label: "hammer")
        logger.logLevel = config.logLevel
        self.logger = logger
        Self.raiseOpenFileLimit()
    }

    /// Raises the soft limit on open files to the hard one: the default soft 1,024 would be shared by API clients,
    /// PostgreSQL connections and webhook sockets.
    static func raiseOpenFileLimit() {
        #if canImport(Glibc)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        // An unlimited hard limit is not a value the kernel takes for open files (fs.nr_open is 1,048,576 by default).
        let wanted = min(limit.rlim_max, 1_048_576)
        guard limit.rlim_cur < wanted else { return }
        limit.rlim_cur = wanted
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        #endif
    }

    func makeClient() -> PostgresClient {
        // The pool's own chatter (leases before run(), idle connection churn) stays out of the log;
        // query failures surface through the code that ran the query.
        var background = logger
        background.logLevel = max(logger.logLevel, .error)
        return PostgresClient(
            configuration: config.database.clientConfiguration(maxConnections: config.databaseMaxOpenConns),
            backgroundLogger: background
        )
    }

    /// Runs `body` with a started client, then stops it.
    func withClient<T: Sendable>(_ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let client = makeClient()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// Runs `body` with the subscription operations on a started client, as the API runs them; `sender` sends test
    /// events (the caller shuts it down).
    func withSubscriptions<T: Sendable>(
        sender: WebhookSender? = nil,
        _ body: @escaping @Sendable (SubscriptionOperations) async throws -> T
    ) async throws -> T {
        let sender = sender ?? WebhookSender(config: config)
        return try await withClient { [config, logger] client in
            let store = Store(client: client, logger: logger)
            return try await body(SubscriptionOperations(store: store, allowPrivateTargets: config.allowPrivateTargets, sender: sender))
        }
    }
}
