import AsyncHTTPClient
import Foundation
import Hammer
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// What the chaos scenarios share: a private PostgreSQL, the receiver, `hammer server`/`worker` processes,
/// an HTTP client for the API and a database client for the verdicts.
final class ChaosHarness: Sendable {
    let binaries: String
    let pgPort: Int
    let http: HTTPClient
    let db: PostgresClient
    let receiver: ChaosReceiver
    let logger: Logger
    private let dbTask: Task<Void, Never>
    private let children = NIOLockedValueBox<[ChildProcess]>([])

    static let apiPort = 8300
    static let healthPortBase = 9300
    var api: String { "http://127.0.0.1:\(Self.apiPort)" }
    var databaseURL: DatabaseURL { (try? DatabaseURL("postgres://hammer@127.0.0.1:\(pgPort)/hammer_chaos?sslmode=disable"))! }

    private init(
        binaries: String,
        pgPort: Int,
        http: HTTPClient,
        db: PostgresClient,
        dbTask: Task<Void, Never>,
        receiver: ChaosReceiver,
        logger: Logger
    ) {
        self.binaries = binaries
        self.pgPort = pgPort
        self.http = http
        self.db = db
        self.dbTask = dbTask
        self.receiver = receiver
        self.logger = logger
    }

    /// Starts PostgreSQL (fsync on: the scenarios are about durability), a fresh migrated database and the receiver.
    static func start(binaries: String, pgPort: Int) async throws -> ChaosHarness {
        var logger = Logger(label: "hammer-chaos")
        logger.logLevel = .critical
        try shell("scripts/postgres.sh start chaos \(pgPort)")
        try shell(
            "PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -p \(pgPort) -U hammer -d postgres -qc 'DROP DATABASE IF EXISTS hammer_chaos WITH (FORCE)' -c 'CREATE DATABASE hammer_chaos' >/dev/null"
        )
        let url = try DatabaseURL("postgres://hammer@127.0.0.1:\(pgPort)/hammer_chaos?sslmode=disable")
        try shell("LOG_LEVEL=warning HAMMER_DATABASE_URL='\(url.urlString)' HAMMER_MIGRATIONS_PATH=migrations \(binaries)/hammer migrate >/dev/null")
        let db = PostgresClient(configuration: url.clientConfiguration(maxConnections: 4), backgroundLogger: logger)
        let dbTask = Task { await db.run() }
        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(timeout: .init(connect: .seconds(5), read: .seconds(30)))
        )
        return ChaosHarness(
            binaries: binaries,
            pgPort: pgPort,
            http: http,
            db: db,
            dbTask: dbTask,
            receiver: try await ChaosReceiver.start(),
            logger: logger
        )
    }

    /// Stops every process and empties the database and the receiver, for the next scenario.
    func prepare() async throws {
        await stopProcesses()
        try await db.query(
            "TRUNCATE topics, subscriptions, messages, deliveries, delivery_queue, delivery_attempts, callbacks, callback_queue, callback_attempts",
            logger: logger
        )
        receiver.reset()
        receiver.setOKDelay(.zero)
    }

    func shutdown() async {
        await stopProcesses()
        await receiver.stop()
        try? await http.shutdown()
        dbTask.cancel()
        try? shell("scripts/postgres.sh stop chaos")
    }

    // MARK: processes

    private func environment(_ extra: [String: String]) -> [String: String] {
        var env = [
            "HAMMER_DATABASE_URL": databaseURL.urlString, "HAMMER_ALLOW_PRIVATE_TARGETS": "true", "HAMMER_HTTP_PORT": "\(Self.apiPort)",
            "HAMMER_MIGRATIONS_PATH": "migrations", "LOG_LEVEL": "warning", "HAMMER_GRPC_PORT": "0",
        ]
        env.merge(extra) { _, new in new }
        return env
    }

    func startServer(_ extra: [String: String] = [:]) async throws -> ChildProcess {
        let server = try ChildProcess(
            name: "server",
            executable: "\(binaries)/hammer",
            arguments: ["server"],
            environment: environment(extra),
            logPath: ".local/chaos/server.log"
        )
        children.withLockedValue { $0.append(server) }
        try await waitReady("\(api)/readiness")
        return server
    }

    /// Starts worker `index` (health port 9300 + index) and waits until it is ready. With `resolvConf`, the worker
    /// runs in a mount namespace of its own where that file is /etc/resolv.conf (the host's stays as it is).
    func startWorker(_ index: Int, _ extra: [String: String] = [:], resolvConf: String? = nil) async throws -> ChildProcess {
        var env = environment(extra)
        env["HAMMER_HEALTH_CHECK_PORT"] = "\(Self.healthPortBase + index)"
        let command =
            resolvConf.map {
                [
                    "/usr/bin/unshare", "--mount", "--propagation", "private", "sh", "-c",
                    "mount --bind \($0) /etc/resolv.conf && exec \(binaries)/hammer worker",
                ]
            }
            ?? ["\(binaries)/hammer", "worker"]
        let worker = try ChildProcess(
            name: "worker\(index)",
            executable: command[0],
            arguments: Array(command.dropFirst()),
            environment: env,
            logPath: ".local/chaos/worker\(index).log",
            append: true
        )
        children.withLockedValue { $0.append(worker) }
        try await waitReady("http://127.0.0.1:\(Self.healthPortBase + index)/readiness")
        return worker
    }

    func stopProcesses() async {
        let running = children.withLockedValue { children in
            defer { children.removeAll() }
            return children
        }
        for child in running { child.stop() }
    }

    func waitReady(_ url: String, timeout: Duration = .seconds(60)) async throws {
        try await hammerAPI.waitReady(url, timeout: timeout, logs: ".local/chaos/*.log")
    }

    /// Stops PostgreSQL with `mode` (`fast` or `immediate`).
    func stopPostgres(mode: String) throws { try shell("scripts/postgres.sh stop chaos \(mode)") }
    func startPostgres() throws { try shell("scripts/postgres.sh start chaos \(pgPort)") }

    // MARK: API

    typealias Answer = HammerAPI.Answer
    typealias SubscriptionSpec = HammerAPI.SubscriptionSpec

    var hammerAPI: HammerAPI { HammerAPI(http: http, base: api) }

    func post(_ path: String, _ json: String, timeout: Int64 = 30) async throws -> Answer {
        try await hammerAPI.post(path, json, timeout: timeout)
    }

    func createTopic(_ topic: String, subscriptions: [SubscriptionSpec]) async throws {
        try await hammerAPI.createTopic(topic, subscriptions: subscriptions)
    }

    /// Publishes one message; the id when the server acknowledged it (200), with the answer either way.
    func publish(_ topic: String, timeout: Int64 = 30) async throws -> (id: String?, answer: Answer) {
        let answer = try await post("/v1/messages", #"{"topic_id":"\#(topic)","content_type":"application/json","data":"{}"}"#, timeout: timeout)
        guard answer.status == 200 else { return (nil, answer) }
        let object = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
        return (object?["id"] as? String, answer)
    }

    /// Publishes `count` messages from `clients` concurrent clients; every one must be acknowledged.
    func publishAll(_ topic: String, count: Int, clients: Int) async throws -> [String] {
        try await withThrowingTaskGroup(of: [String].self) { group in
            for client in 0..<clients {
                group.addTask {
                    var ids: [String] = []
                    for _ in stride(from: client, to: count, by: clients) {
                        let (id, answer) = try await self.publish(topic)
                        guard let id else { throw BenchError("publish answered \(answer.status): \(answer.body)") }
                        ids.append(id)
                    }
                    return ids
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    /// Publishes 50 messages a second to `topic` for `seconds`; the ids acknowledged.
    func publishSteadily(_ topic: String, seconds: Int) async throws -> [String] {
        var ids: [String] = []
        let started = ContinuousClock.now
        for index in 0..<(seconds * 50) {
            try await Task.sleep(until: started + .milliseconds(index * 20))
            if let id = try await publish(topic).id { ids.append(id) }
        }
        return ids
    }

    // MARK: database

    func count(_ sql: String) async throws -> Int {
        try await db.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect().first?.decode(Int.self) ?? 0
    }

    /// Joined to `unnest(…) AS m(id)` of message ids: their deliveries not `completed`, and messages with none.
    private static let unfinished = "LEFT JOIN deliveries d ON d.message_id = m.id WHERE d.id IS NULL OR d.status <> 'completed'"

    /// Deliveries of the acknowledged `messages` that are not `completed`: lost, if the scenario is over.
    func notCompleted(messages: [String]) async throws -> Int {
        let rows = try await db.query(
            "SELECT count(*) FROM unnest(\(messages)::text[]) AS m(id) \(unescaped: Self.unfinished)",
            logger: logger
        ).collect()
        return try rows.first?.decode(Int.self) ?? 0
    }

    /// Waits until every delivery of `messages` is completed; on timeout the error shows where the rest are stuck.
    func waitForCompletion(_ what: String, messages: [String], timeout: Duration) async throws {
        do {
            try await waitUntil(what, timeout: timeout) { try await notCompleted(messages: messages) == 0 }
        } catch let error as BenchError {
            let rows = try await db.query(
                """
                SELECT m.id, d.id, d.status, d.delivery_attempts,
                    extract(epoch FROM d.scheduled_at - now())::float8,
                    (SELECT extract(epoch FROM q.leased_until - now())::float8 FROM delivery_queue q WHERE q.delivery_id = d.id)
                FROM unnest(\(messages)::text[]) AS m(id) \(unescaped: Self.unfinished) ORDER BY d.scheduled_at LIMIT 5
                """,
                logger: logger
            ).collect().map { try $0.decode((String, String?, String?, Int?, Double?, Double?).self) }
            let described = rows.map { row in
                guard let delivery = row.1 else { return "message \(row.0) has no deliveries" }
                return "delivery \(delivery) \(row.2 ?? "") attempts \(row.3 ?? 0), due in \(String(format: "%.1f", row.4 ?? 0)) s, "
                    + (row.5.map { String(format: "leased for %.1f s more", $0) } ?? "not leased")
            }
            throw BenchError(
                "\(error); still not completed: \(try await notCompleted(messages: messages)), e.g. \(described.joined(separator: "; "))"
            )
        }
    }

    /// Fills the verdict row: every delivery in the database; lost = deliveries of the `acknowledged` messages that
    /// are not completed or never reached `/ok`; duplicates = arrivals at `/ok` beyond the first per `webhook-id`.
    /// Returns how many deliveries never reached the receiver.
    @discardableResult
    func tally(_ verdict: inout ChaosVerdict, acknowledged: [String]) async throws -> Int {
        let counts = receiver.okCounts()
        let ids = try await db.query("SELECT id FROM deliveries WHERE message_id = ANY(\(acknowledged)::text[])", logger: logger).collect()
        let missing = try ids.filter { counts[try $0.decode(String.self)] == nil }.count
        verdict.deliveries = try await count("SELECT count(*) FROM deliveries")
        verdict.lost = try await notCompleted(messages: acknowledged) + missing
        verdict.duplicates = counts.values.reduce(0) { $0 + max($1 - 1, 0) }
        return missing
    }

    /// Seconds from publish (a delivery's `created_at`) to its first arrival at `/ok`, for `topic`'s deliveries that
    /// arrived, sorted.
    func arrivalLatencies(topic: String) async throws -> [Double] {
        var firstArrival: [String: Date] = [:]
        for arrival in receiver.arrivals(.ok) where firstArrival[arrival.webhookID] == nil { firstArrival[arrival.webhookID] = arrival.at }
        let created = try await db.query("SELECT id, created_at FROM deliveries WHERE topic_id = \(topic)", logger: logger).collect()
        var latencies: [Double] = []
        for row in created {
            let (id, at) = try row.decode((String, Date).self)
            if let arrived = firstArrival[id] { latencies.append(arrived.timeIntervalSince(at)) }
        }
        return latencies.sorted()
    }

    /// Re-checks `condition` every 50 ms until it holds; throws after `timeout`.
    func waitUntil(_ what: String, timeout: Duration, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if try await condition() { return }
            if ContinuousClock.now > deadline { throw BenchError("timed out after \(timeout) waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
