import ArgumentParser
import Foundation
import Hammer
import Logging
import PostgresNIO

/// `hammer-bench run`: private PostgreSQL, server, workers and a sink, then the scenarios of the performance issue.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run every scenario and print the table (the default).")

    @Option(help: "Subscriptions per topic (S).") var subscriptions: Int = 10
    @Option(help: "Messages published in the throughput scenario (M).") var messages: Int = 2000
    @Option(help: "Concurrent publishing clients (C).") var clients: Int = 8
    @Option(help: "Worker processes (N).") var workers: Int = 1
    @Option(help: "Latency scenario: messages per second.") var rate: Int = 200
    @Option(help: "Latency scenario: seconds.") var duration: Int = 30
    @Option(help: "Backlog scenario: pending deliveries created before the workers start.") var backlog: Int = 200_000
    @Option(help: "HAMMER_WORKER_CONCURRENCY for the workers.") var concurrency: Int = 64
    @Option(help: "HAMMER_WORKER_BATCH_SIZE for the workers.") var batchSize: Int = 100
    @Option(help: "Directory holding the hammer and hammer-bench binaries.") var binaries: String = ".build/release"
    @Option(help: "Where the JSON report goes.") var report: String = ".local/bench/report.json"
    @Option(help: "Port of the benchmark's PostgreSQL on 127.0.0.1.") var pgPort: Int = 25431
    @Option(
        help: """
            Server settings of the benchmark's PostgreSQL for this run, comma-separated name=value (e.g. \
            shared_preload_libraries=pg_stat_statements to see where its time goes); PostgreSQL's defaults otherwise.
            """
    ) var postgresSettings: String = ""
    @Flag(help: "A few seconds of each scenario (CI smoke test).") var quick = false
    @Option(help: "Comma-separated scenarios to run (\(BenchSettings.allScenarios.joined(separator: ", "))); all by default.")
    var scenarios: String = BenchSettings.allScenarios.joined(separator: ",")

    mutating func validate() throws {
        if quick {
            (subscriptions, messages, clients, rate, duration, backlog) = (2, 200, 4, 50, 2, 2000)
        }
        let unknown = Set(scenarioList).subtracting(BenchSettings.allScenarios)
        guard unknown.isEmpty, !scenarioList.isEmpty else {
            throw ValidationError(
                "--scenarios takes \(BenchSettings.allScenarios.joined(separator: ", ")); unknown: \(unknown.sorted().joined(separator: ", "))"
            )
        }
        guard subscriptions >= 1, messages >= 1, clients >= 1, workers >= 1, rate >= 1, duration >= 1, backlog >= subscriptions else {
            throw ValidationError("every count must be at least 1, and --backlog at least --subscriptions")
        }
    }

    func run() async throws {
        var logger = Logger(label: "hammer-bench")
        logger.logLevel = .warning
        let settings = BenchSettings(
            subscriptions: subscriptions,
            messages: messages,
            clients: clients,
            workers: workers,
            rate: rate,
            duration: duration,
            backlog: backlog,
            concurrency: concurrency,
            batchSize: batchSize,
            quick: quick,
            scenarios: Set(scenarioList)
        )
        // Stopped first, so a cluster left running by an interrupted run starts again with these settings.
        let options = postgresSettings.split(separator: ",").map { "-c \($0.trimmingCharacters(in: .whitespaces))" }.joined(separator: " ")
        try shell("scripts/postgres.sh stop bench && HAMMER_PG_OPTIONS='\(options)' scripts/postgres.sh start bench \(pgPort)")
        progress("PostgreSQL settings: \(postgresSettings.isEmpty ? "its defaults" : postgresSettings)")
        let admin = try DatabaseURL("postgres://hammer@127.0.0.1:\(pgPort)/postgres?sslmode=disable")
        let url = admin.with(database: "hammer_bench")
        try await withClient(admin, logger: logger) { client in
            try await client.query("DROP DATABASE IF EXISTS hammer_bench WITH (FORCE)", logger: logger)
            try await client.query("CREATE DATABASE hammer_bench", logger: logger)
        }
        let environment = [
            "HAMMER_DATABASE_URL": url.urlString, "HAMMER_ALLOW_PRIVATE_TARGETS": "true", "HAMMER_HTTP_PORT": "8100",
            "HAMMER_WORKER_CONCURRENCY": "\(concurrency)", "HAMMER_WORKER_BATCH_SIZE": "\(batchSize)", "HAMMER_MIGRATIONS_PATH": "migrations",
            "HAMMER_GRPC_PORT": "0",
        ]
        try shell("mkdir -p .local/bench && HAMMER_DATABASE_URL='\(url.urlString)' \(binaries)/hammer migrate >/dev/null")

        let results: Results
        do {
            results = try await withClient(url, logger: logger) { client in
                var bench = Bench(settings: settings, client: client, environment: environment, binaries: binaries, logger: logger)
                return try await bench.runAll()
            }
        } catch let error as PSQLError {
            // PSQLError's description hides the server's message; the benchmark's own database has nothing to hide.
            throw BenchError("PostgreSQL: \(String(reflecting: error))")
        }
        let table = results.table()
        progress(table)
        try FileManager.default.createDirectory(atPath: (report as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try results.json().write(to: URL(fileURLWithPath: report))
        progress("report: \(report)")
        try shell("scripts/postgres.sh stop bench")
    }

    private var scenarioList: [String] {
        scenarios.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private func withClient<T: Sendable>(_ url: DatabaseURL, logger: Logger, _ body: (PostgresClient) async throws -> T) async throws -> T {
        var configuration = url.clientConfiguration(maxConnections: 8)
        // The benchmark's own set-up (200,000 deliveries in one INSERT) may run past hammer's statement timeout.
        configuration.options.additionalStartupParameters = [("statement_timeout", "0")]
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

struct BenchSettings: Sendable {
    var subscriptions, messages, clients, workers, rate, duration, backlog, concurrency, batchSize: Int
    var quick: Bool
    var scenarios: Set<String>

    static let allScenarios = ["ceiling", "publish", "batch", "throughput", "latency", "backlog", "fairness", "idle", "held", "retention"]

    func runs(_ scenario: String) -> Bool { scenarios.contains(scenario) }
}
