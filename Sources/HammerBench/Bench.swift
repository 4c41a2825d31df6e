import AsyncHTTPClient
import Foundation
import Hammer
import Logging
import NIOCore
import PostgresNIO

/// The scenarios, run against real processes: one `hammer server`, N `hammer worker`, one sink.
struct Bench {
    let settings: BenchSettings
    let client: PostgresClient
    let environment: [String: String]
    let binaries: String
    let logger: Logger

    let api = "http://127.0.0.1:8100"
    let sinkBase = "http://127.0.0.1:9100"
    var sinkURL: String { "\(sinkBase)/hook" }
    /// Where throughput and backlog deliveries go: nginx when it can run here, else the Swift sink.
    var bulkURL: String { nginx?.url ?? sinkURL }
    var nginx: NginxSink? = nil
    var queue: DeliveryQueue { DeliveryQueue(client: client, logger: logger) }

    mutating func runAll() async throws -> Results {
        var results = Results(settings: settings)
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5), read: .seconds(60)))
        // The latency scenario publishes open-loop: when answers slow down, more requests are open at once than
        // the default 8 connections carry, and the queue for a connection must not be what gets measured (or times out).
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            results = try await runAll(http: http, results: results)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        return results
    }

    private mutating func runAll(http: HTTPClient, results: Results) async throws -> Results {
        var results = results
        if settings.runs("ceiling") {
            progress("database ceiling (claim + record SQL, one connection, no HTTP)…")
            results.databaseCeiling = try await databaseCeiling()
        }

        let sink = try ChildProcess(
            name: "sink",
            executable: "\(binaries)/hammer-bench",
            arguments: ["sink", "--port", "9100"],
            environment: [:],
            logPath: ".local/bench/sink.log"
        )
        defer { sink.stop() }
        try await waitReady(http, "\(sinkBase)/stats")
        nginx = NginxSink.start()
        defer { nginx?.stop() }
        if nginx != nil { try await waitReady(http, "http://127.0.0.1:\(NginxSink.port)/nginx_status") }
        results.bulkReceiver = nginx == nil ? "Swift sink (nginx unavailable)" : "nginx"
        if settings.runs("ceiling") {
            progress("receiver ceiling (one client process)…")
            results.receiverCeiling = try await receiverCeiling(http)
        }

        let server = try ChildProcess(
            name: "server",
            executable: "\(binaries)/hammer",
            arguments: ["server"],
            environment: environment,
            logPath: ".local/bench/server.log"
        )
        defer { server.stop() }
        try await waitReady(http, "\(api)/readiness")
        if settings.runs("publish") {
            progress(
                "publishing alone: \(settings.messages) messages to \(settings.subscriptions) subscriptions, \(settings.clients) clients, no worker…"
            )
            let (publishing, cores, wal) = try await measured([sink, server]) { try await publishAlone(http) }
            (results.publishAlone, results.cores["publish alone"], results.walBytes["publish alone"]) = (publishing, cores, wal)
        }
        if settings.runs("batch") {
            progress("batch publishing alone: \(settings.messages * 5) messages in batches of 100, \(settings.clients) clients, no worker…")
            let (batches, cores, wal) = try await measured([sink, server]) { try await batchAlone(http) }
            (results.batchAlone, results.cores["batch alone"], results.walBytes["batch alone"]) = (batches, cores, wal)
        }

        if settings.runs("throughput") || settings.runs("latency") {
            let workers = try startWorkers(http)
            defer { for worker in workers { worker.stop() } }  // also when a scenario fails
            try await waitWorkersReady(http)
            let children = [sink, server] + workers
            if settings.runs("throughput") {
                progress("throughput: \(settings.subscriptions) subscriptions × \(settings.messages) messages, \(settings.clients) clients…")
                let (throughput, cores, wal) = try await measured(children) { try await self.throughput(http) }
                (results.throughput, results.cores["throughput"], results.walBytes["throughput"]) = (throughput, cores, wal)
            }
            if settings.runs("latency") {
                progress("latency: \(settings.rate) messages/s × \(settings.subscriptions) subscriptions for \(settings.duration)s…")
                let (latency, cores, wal) = try await measured(children) { try await self.latency(http) }
                (results.latency, results.cores["latency"], results.walBytes["latency"]) = (latency, cores, wal)
            }
            results.serverRSS = server.peakRSSMegabytes
            results.workerRSS = workers.map(\.peakRSSMegabytes).max() ?? 0
        }

        if settings.runs("backlog") {
            progress("backlog: \(settings.backlog) pending deliveries, then \(settings.workers) worker(s)…")
            try await prepareBacklog()
            let workers = try startWorkers(http)
            defer { for worker in workers { worker.stop() } }
            try await resetSink(http)
            let children = [sink, server] + workers
            let (backlog, cores, wal) = try await measured(children) { try await drainBacklog(http) }
            (results.backlog, results.cores["backlog"], results.walBytes["backlog"]) = (backlog, cores, wal)
            results.workerRSS = max(results.workerRSS, workers.map(\.peakRSSMegabytes).max() ?? 0)
        }
        if settings.runs("fairness") {
            progress("fairness: fast subscriptions' backlog alone, then beside a slow endpoint's backlog…")
            results.fairness = try await fairness(http)
        }
        if settings.runs("idle") {
            progress("idle: a backlog drained alone, beside idle subscriptions, alone again…")
            results.idle = try await idleSubscriptions(http)
        }
        if settings.runs("held") {
            progress("held: a backlog drained without, with and again without a transaction held open…")
            results.held = try await heldTransaction(http)
        }
        if settings.runs("retention") {
            progress("retention: a day of history dropped while publishing and delivering…")
            results.retention = try await retention(http)
        }
        return results
    }

    /// `body`'s result, the cores each of `children` (and PostgreSQL, nginx, the bench) used while it ran, and the WAL
    /// bytes PostgreSQL wrote meanwhile.
    private func measured<T>(_ children: [ChildProcess], _ body: () async throws -> T) async throws -> (T, [String: Double], Int) {
        let walBefore = try await count("SELECT (pg_current_wal_lsn() - '0/0')::bigint")
        let before = CPUSnapshot(children: children)
        let value = try await body()
        let cores = CPUSnapshot(children: children).coresSince(before)
        return (value, cores, try await count("SELECT (pg_current_wal_lsn() - '0/0')::bigint") - walBefore)
    }

    // MARK: processes

    func startWorkers(_ http: HTTPClient) throws -> [ChildProcess] {
        try (0..<settings.workers).map { index in
            var env = environment
            env["HAMMER_HEALTH_CHECK_PORT"] = "\(9200 + index)"
            return try ChildProcess(
                name: "worker\(index)",
                executable: "\(binaries)/hammer",
                arguments: ["worker"],
                environment: env,
                logPath: ".local/bench/worker\(index).log"
            )
        }
    }

    func waitWorkersReady(_ http: HTTPClient) async throws {
        for index in 0..<settings.workers { try await waitReady(http, "http://127.0.0.1:\(9200 + index)/readiness") }
    }

    // MARK: setup

    func createTopic(_ http: HTTPClient, _ topic: String, url: String) async throws {
        let subscriptions = (0..<settings.subscriptions).map {
            HammerAPI.SubscriptionSpec(id: "\(topic)-\($0)", url: url, maxAttempts: 5, delay: 1, timeout: 10)
        }
        try await HammerAPI(http: http, base: api).createTopic(topic, subscriptions: subscriptions)
    }

    func waitReady(_ http: HTTPClient, _ url: String) async throws {
        try await HammerAPI(http: http, base: api).waitReady(url, logs: ".local/bench/*.log")
    }

    func count(_ sql: String) async throws -> Int {
        try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect().first?.decode(Int.self) ?? 0
    }

    /// Inserts `deliveries` pending deliveries for `topic` (spread over its `subscriptions`) straight into the database.
    func insertPending(topic: String, deliveries: Int, subscriptions: Int? = nil) async throws {
        let messages = max(1, deliveries / (subscriptions ?? settings.subscriptions))
        try await client.query(
            """
            INSERT INTO messages (id, topic_id, content_type, data)
            SELECT hammer_ulid(), \(topic), 'application/json', 'e30=' FROM generate_series(1, \(messages))
            """,
            logger: logger
        )
        try await client.query(
            """
            INSERT INTO deliveries (id, topic_id, subscription_id, message_id, url, max_delivery_attempts,
                delivery_attempt_delay, delivery_attempt_timeout, scheduled_at)
            SELECT hammer_ulid(), s.topic_id, s.id, m.id, s.url, s.max_delivery_attempts,
                s.delivery_attempt_delay, s.delivery_attempt_timeout, m.created_at
            FROM messages m JOIN subscriptions s ON s.topic_id = m.topic_id WHERE m.topic_id = \(topic)
            """,
            logger: logger
        )
        // Migrations 10 and 14: a pending delivery waits in the queue too, with its message's keys and size.
        try await client.query(
            """
            INSERT INTO delivery_queue (delivery_id, subscription_id, scheduled_at, created_at, message_id, topic_id, message_bytes)
            SELECT d.id, d.subscription_id, d.scheduled_at, d.created_at, d.message_id, d.topic_id, octet_length(m.data)
            FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.topic_id = \(topic)
            """,
            logger: logger
        )
        try await client.query("ANALYZE deliveries", logger: logger)
        try await client.query("ANALYZE delivery_queue", logger: logger)
    }

    func insertTopic(_ topic: String, url: String, subscriptions: Int? = nil) async throws {
        try await client.query("INSERT INTO topics (id, name) VALUES (\(topic), \(topic))", logger: logger)
        for index in 0..<(subscriptions ?? settings.subscriptions) {
            let id = "\(topic)-\(index)"
            try await client.query(
                """
                INSERT INTO subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
                VALUES (\(id), \(topic), 's', \(url), 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 5, 1, 10)
                """,
                logger: logger
            )
        }
    }

    // MARK: scenarios

    /// The claim + record SQL alone, batches of `batchSize`, sequential on one connection.
    private func databaseCeiling() async throws -> Double {
        let total = settings.quick ? 2000 : 20_000
        try await insertTopic("ceiling", url: sinkURL)
        try await insertPending(topic: "ceiling", deliveries: total)
        let pending = try await count("SELECT count(*) FROM deliveries WHERE topic_id = 'ceiling'")
        let started = ContinuousClock.now
        var done = 0
        while true {
            let claimed = try await queue.claim(limit: settings.batchSize, leaseMargin: .seconds(30), maxInFlight: settings.batchSize).deliveries
            if claimed.isEmpty { break }
            let outcomes = claimed.map { delivery in
                let result = AttemptResult(
                    delivery: delivery,
                    attemptID: ULID.make(),
                    request: "POST /hook HTTP/1.1\r\nHost: 127.0.0.1:9100\r\nContent-Type: application/json\r\n\r\n" + delivery.cloudEventBody,
                    response: "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
                    statusCode: 200,
                    durationMilliseconds: 1,
                    success: true,
                    error: "",
                    errorKind: nil,
                    retryAfter: nil
                )
                return DeliveryOutcome(result: result, status: .completed)
            }
            try await queue.record(outcomes)
            done += claimed.count
        }
        let seconds = (ContinuousClock.now - started).inSeconds
        guard done == pending else { throw BenchError("database ceiling: recorded \(done) of \(pending)") }
        try await client.query("DELETE FROM topics WHERE id = 'ceiling'", logger: logger)
        return Double(done) / seconds
    }

    /// Requests per second the sink answers from one client process: wrk when installed, else AsyncHTTPClient.
    private func receiverCeiling(_ http: HTTPClient) async throws -> Results.Ceiling {
        let seconds = settings.quick ? 2 : 5
        let script = ".local/bench/post.lua"
        try #"wrk.method = "POST"; wrk.body = '{"data_base64":"e30="}'; wrk.headers["Content-Type"] = "application/json""#
            .write(toFile: script, atomically: true, encoding: .utf8)
        if let output = capture("wrk -t1 -c\(settings.concurrency) -d\(seconds)s -s \(script) \(bulkURL)"),
            let line = output.split(separator: "\n").first(where: { $0.hasPrefix("Requests/sec:") }),
            let value = Double(line.split(separator: " ").last ?? "")
        {
            return .init(rate: value, method: "wrk -t1 -c\(settings.concurrency) → \(nginx == nil ? "Swift sink" : "nginx")")
        }
        let deadline = ContinuousClock.now + .seconds(seconds)
        let started = ContinuousClock.now
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<settings.concurrency {
                group.addTask {
                    var sent = 0
                    while ContinuousClock.now < deadline {
                        var request = HTTPClientRequest(url: bulkURL)
                        request.method = .POST
                        request.body = .bytes(ByteBuffer(string: #"{"data_base64":"e30="}"#))
                        let response = try await http.execute(request, timeout: .seconds(10))
                        _ = try await response.body.collect(upTo: 1 << 16)
                        sent += 1
                    }
                    return sent
                }
            }
            return try await group.reduce(0, +)
        }
        return .init(rate: Double(total) / (ContinuousClock.now - started).inSeconds, method: "AsyncHTTPClient, \(settings.concurrency) in flight")
    }

    private func throughput(_ http: HTTPClient) async throws -> Results.Throughput {
        try await createTopic(http, "bench", url: bulkURL)
        try await resetSink(http)
        let expected = settings.messages * settings.subscriptions
        let started = ContinuousClock.now
        let publishing = try await publishConcurrently(http, topic: "bench")
        let completedAt = try await waitForCompleted(http, topic: "bench", expected: expected, timeout: .seconds(600))
        return .init(
            publishRate: publishing.rate,
            publishP50: publishing.p50,
            publishP99: publishing.p99,
            deliveryRate: Double(expected) / (completedAt - started).inSeconds
        )
    }

    /// The throughput scenario's publishing with no worker running: what the API and the database allow for
    /// publishing alone, without deliveries competing for the cores. The deliveries are deleted afterwards.
    private func publishAlone(_ http: HTTPClient) async throws -> Results.Publishing {
        try await createTopic(http, "alone", url: bulkURL)
        let publishing = try await publishConcurrently(http, topic: "alone")
        try await client.query("DELETE FROM topics WHERE id = 'alone'", logger: logger)
        return publishing
    }

    /// 5 × M messages in batches of 100 from C concurrent clients, no worker running: messages and delivery rows
    /// written per second. The deliveries are deleted afterwards.
    private func batchAlone(_ http: HTTPClient) async throws -> Results.BatchPublishing {
        try await createTopic(http, "batch", url: bulkURL)
        let batchSize = 100
        let batches = settings.messages * 5 / batchSize
        let item = #"{"topic_id":"batch","content_type":"application/json","data":"{}"}"#
        let body = #"{"messages":["# + Array(repeating: item, count: batchSize).joined(separator: ",") + "]}"
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for clientIndex in 0..<settings.clients {
                group.addTask {
                    var latencies: [Double] = []
                    for _ in stride(from: clientIndex, to: batches, by: settings.clients) {
                        let sent = ContinuousClock.now
                        let response = try await HammerAPI(http: http, base: api).post("/v1/messages/batch", body)
                        guard response.status == 200 else { throw BenchError("batch publish failed: \(response.body)") }
                        latencies.append((ContinuousClock.now - sent).inSeconds * 1000)
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let seconds = (ContinuousClock.now - started).inSeconds
        try await client.query("DELETE FROM topics WHERE id = 'batch'", logger: logger)
        let sorted = latencies.sorted()
        let messages = Double(batches * batchSize)
        return .init(
            messagesPerSecond: messages / seconds,
            deliveryRowsPerSecond: messages * Double(settings.subscriptions) / seconds,
            p50: sorted.quantile(0.5),
            p99: sorted.quantile(0.99)
        )
    }

    /// Publishes M messages to `topic` from C concurrent clients; the request rate and latency quantiles.
    private func publishConcurrently(_ http: HTTPClient, topic: String) async throws -> Results.Publishing {
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for clientIndex in 0..<settings.clients {
                group.addTask {
                    var latencies: [Double] = []
                    for _ in stride(from: clientIndex, to: settings.messages, by: settings.clients) {
                        let sent = ContinuousClock.now
                        let response = try await HammerAPI(http: http, base: api).post(
                            "/v1/messages",
                            #"{"topic_id":"\#(topic)","content_type":"application/json","data":"{}"}"#
                        )
                        guard response.status == 200 else { throw BenchError("publish failed: \(response.body)") }
                        latencies.append((ContinuousClock.now - sent).inSeconds * 1000)
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let sorted = latencies.sorted()
        return .init(
            rate: Double(settings.messages) / (ContinuousClock.now - started).inSeconds,
            p50: sorted.quantile(0.5),
            p99: sorted.quantile(0.99)
        )
    }

    /// Waits for `expected` arrivals at the sink (a cheap counter), then for the database to show them completed.
    func waitForCompleted(_ http: HTTPClient, topic: String, expected: Int, timeout: Duration) async throws -> ContinuousClock.Instant {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, try await arrivals(http) < expected {
            try await Task.sleep(for: .milliseconds(20))
        }
        while ContinuousClock.now < deadline {
            let completed = try await count("SELECT count(*) FROM deliveries WHERE topic_id = '\(topic)' AND status = 'completed'")
            if completed >= expected { return .now }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw BenchError("\(topic): deliveries did not complete within \(timeout)")
    }

    private func sinkStats(_ http: HTTPClient) async throws -> [String: Any] {
        let response = try await http.execute(HTTPClientRequest(url: "\(sinkBase)/stats"), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 16)
        return try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] ?? [:]
    }

    func resetSink(_ http: HTTPClient) async throws {
        var request = HTTPClientRequest(url: "\(sinkBase)/reset")
        request.method = .POST
        _ = try await http.execute(request, timeout: .seconds(5))
        try await nginx?.reset(http)
    }

    /// Deliveries the receiver has seen since the last reset.
    func arrivals(_ http: HTTPClient) async throws -> Int {
        if let nginx { return try await nginx.count(http) }
        return try await sinkStats(http)["count"] as? Int ?? 0
    }

    /// A steady publish rate; publish→arrival per delivery. With nginx the receiver logs each arrival's time and
    /// `webhook-id`, and the publish time is taken by message id (deliveries map to messages in the database);
    /// otherwise the Swift sink reads the publish time from the event's data.
    private func latency(_ http: HTTPClient) async throws -> Results.Latency {
        try await createTopic(http, "latency", url: nginx?.latencyURL ?? sinkURL)
        try await resetSink(http)
        let total = settings.rate * settings.duration
        let started = ContinuousClock.now
        let published = try await withThrowingTaskGroup(of: (String, Double).self) { group in
            for index in 0..<total {
                let due = started + .microseconds(Int64(index) * 1_000_000 / Int64(settings.rate))
                if due > .now { try await Task.sleep(until: due) }
                group.addTask {
                    let now = Date().timeIntervalSince1970
                    let data = #"{\"t\":\#(Int64(now * 1_000_000))}"#
                    let response = try await HammerAPI(http: http, base: api).post(
                        "/v1/messages",
                        #"{"topic_id":"latency","content_type":"application/json","data":"\#(data)"}"#
                    )
                    guard response.status == 200,
                        let object = try? JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any],
                        let id = object["id"] as? String
                    else { throw BenchError("publish failed: \(response.body)") }
                    return (id, now)
                }
            }
            var published: [String: Double] = [:]
            for try await (id, at) in group { published[id] = at }
            return published
        }
        let expected = total * settings.subscriptions
        _ = try await waitForCompleted(http, topic: "latency", expected: expected, timeout: .seconds(300))
        guard let nginx else {
            let stats = try await sinkStats(http)
            return .init(
                deliveriesPerSecond: settings.rate * settings.subscriptions,
                samples: stats["latency_samples"] as? Int ?? 0,
                p50: stats["p50_ms"] as? Double ?? 0,
                p99: stats["p99_ms"] as? Double ?? 0,
                max: stats["max_ms"] as? Double ?? 0
            )
        }
        var arrivals = nginx.latencyArrivals()
        let deadline = ContinuousClock.now + .seconds(5)
        while arrivals.count < expected, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))  // nginx flushes its log buffer every 200 ms
            arrivals = nginx.latencyArrivals()
        }
        let messageOf = Dictionary(
            uniqueKeysWithValues: try await client.query("SELECT id, message_id FROM deliveries WHERE topic_id = 'latency'", logger: logger)
                .collect().map { try $0.decode((String, String).self) }
        )
        let latencies = arrivals.compactMap { arrival in
            messageOf[arrival.id].flatMap { published[$0] }.map { (arrival.seconds - $0) * 1000 }
        }.sorted()
        return .init(
            deliveriesPerSecond: settings.rate * settings.subscriptions,
            samples: latencies.count,
            p50: latencies.quantile(0.5),
            p99: latencies.quantile(0.99),
            max: latencies.last ?? 0
        )
    }

    private func prepareBacklog() async throws {
        try await insertTopic("backlog", url: bulkURL)
        try await insertPending(topic: "backlog", deliveries: settings.backlog)
    }

    /// Rates over each tenth of the backlog, from the moment workers start until it is empty.
    private func drainBacklog(_ http: HTTPClient) async throws -> Results.Backlog {
        let total = try await count("SELECT count(*) FROM deliveries WHERE topic_id = 'backlog'")
        let started = ContinuousClock.now
        var marks: [(Int, ContinuousClock.Instant)] = [(0, started)]
        let deadline = started + .seconds(1800)
        while ContinuousClock.now < deadline {
            let done = try await arrivals(http)
            if done >= (marks.count) * total / 10 || done >= total { marks.append((done, .now)) }
            if done >= total { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard let last = marks.last, last.0 >= total else { throw BenchError("backlog did not drain") }
        _ = try await waitForCompleted(http, topic: "backlog", expected: total, timeout: .seconds(60))
        var rates: [Double] = []
        for (previous, next) in zip(marks, marks.dropFirst()) where next.0 > previous.0 {
            rates.append(Double(next.0 - previous.0) / (next.1 - previous.1).inSeconds)
        }
        return .init(deliveries: total, overallRate: Double(total) / (last.1 - started).inSeconds, windowRates: rates)
    }
}

extension Array where Element == Double {
    func quantile(_ q: Double) -> Double {
        isEmpty ? 0 : self[Swift.min(count - 1, Int(Double(count) * q))]
    }
}
