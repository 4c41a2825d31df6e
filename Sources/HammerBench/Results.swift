import Foundation

/// The benchmark's figures, printed as a table against the targets and written as JSON.
struct Results {
    struct Ceiling {
        var rate: Double
        var method: String
    }
    struct Throughput { var publishRate, publishP50, publishP99, deliveryRate: Double }
    struct Publishing { var rate, p50, p99: Double }
    /// Batch publishing: messages and delivery rows written per second, and per-request latency.
    struct BatchPublishing { var messagesPerSecond, deliveryRowsPerSecond, p50, p99: Double }
    struct Latency {
        var deliveriesPerSecond, samples: Int
        var p50, p99, max: Double
    }
    struct Backlog {
        var deliveries: Int
        var overallRate: Double
        var windowRates: [Double]
    }

    /// The fast subscriptions' drain rate alone (before and after) and beside one slow endpoint with a deep backlog.
    struct Fairness {
        var fastDeliveries, slowBacklog: Int
        /// The drains alone, before and after the one beside the slow endpoint.
        var aloneRates: [Double]
        var besideSlowRate: Double
        var aloneRate: Double { aloneRates.isEmpty ? 0 : aloneRates.reduce(0, +) / Double(aloneRates.count) }
        var ratio: Double { aloneRate > 0 ? besideSlowRate / aloneRate : 0 }
    }

    /// A backlog's drain rate alone (before and after) and beside something that must not slow it.
    struct Comparison {
        var deliveries: Int
        var aloneRates: [Double]
        var besideRate: Double
        var besideWhat: String
        var aloneRate: Double { aloneRates.isEmpty ? 0 : aloneRates.reduce(0, +) / Double(aloneRates.count) }
        var ratio: Double { aloneRate > 0 ? besideRate / aloneRate : 0 }
        var json: [String: Any] {
            ["deliveries": deliveries, "alone_runs_per_s": aloneRates, "alone_per_s": aloneRate, "beside_per_s": besideRate, "ratio": ratio]
        }
    }

    /// A day of history dropped while publishing and delivering go on.
    struct Retention {
        var deliveries, keptPending: Int
        var seconds: Double
        var bytesReturned: Int
        var publishP99Before, publishP99During: Double
        var publishesDuring: Int
    }

    let settings: BenchSettings
    var databaseCeiling = 0.0
    var receiverCeiling = Ceiling(rate: 0, method: "")
    var throughput = Throughput(publishRate: 0, publishP50: 0, publishP99: 0, deliveryRate: 0)
    /// Publishing with no worker running.
    var publishAlone = Publishing(rate: 0, p50: 0, p99: 0)
    /// Batches of 100 with no worker running.
    var batchAlone = BatchPublishing(messagesPerSecond: 0, deliveryRowsPerSecond: 0, p50: 0, p99: 0)
    var latency = Latency(deliveriesPerSecond: 0, samples: 0, p50: 0, p99: 0, max: 0)
    var backlog = Backlog(deliveries: 0, overallRate: 0, windowRates: [])
    var fairness = Fairness(fastDeliveries: 0, slowBacklog: 0, aloneRates: [], besideSlowRate: 0)
    var idle = Comparison(deliveries: 0, aloneRates: [], besideRate: 0, besideWhat: "")
    var held = Comparison(deliveries: 0, aloneRates: [], besideRate: 0, besideWhat: "")
    var retention = Retention(
        deliveries: 0,
        keptPending: 0,
        seconds: 0,
        bytesReturned: 0,
        publishP99Before: 0,
        publishP99During: 0,
        publishesDuring: 0
    )
    var bulkReceiver = ""
    /// WAL bytes PostgreSQL wrote during each scenario.
    var walBytes: [String: Int] = [:]
    var serverRSS = 0.0
    var workerRSS = 0.0
    /// Cores used by each process during each scenario.
    var cores: [String: [String: Double]] = [:]

    var ceiling: Double { min(databaseCeiling, receiverCeiling.rate) }

    /// CPU microseconds per unit of work by process, per scenario: the figure to steer by, stable across runs where
    /// rates are not (cores used × 10⁶ ÷ units per second). Units: deliveries, publish requests, batch messages.
    var cpuMicroseconds: [String: (unit: String, byProcess: [String: Double])] {
        var result: [String: (unit: String, byProcess: [String: Double])] = [:]
        for (scenario, (unit, rate)) in units where rate > 0 {
            guard let usage = cores[scenario] else { continue }
            result[scenario] = (unit, usage.mapValues { $0 * 1_000_000 / rate })
        }
        return result
    }
    /// Each measured scenario's unit of work and how many of them it did per second.
    private var units: [String: (String, Double)] {
        [
            "throughput": ("delivery", throughput.deliveryRate), "latency": ("delivery", Double(latency.deliveriesPerSecond)),
            "backlog": ("delivery", backlog.overallRate), "publish alone": ("publish", publishAlone.rate),
            "batch alone": ("message", batchAlone.messagesPerSecond),
        ]
    }

    /// WAL bytes per unit of work, per scenario.
    var walPerUnit: [String: (unit: String, bytes: Double)] {
        var result: [String: (unit: String, bytes: Double)] = [:]
        for (scenario, (unit, _)) in units {
            guard let bytes = walBytes[scenario], let count = unitsDone[scenario], count > 0 else { continue }
            result[scenario] = (unit, Double(bytes) / Double(count))
        }
        return result
    }

    /// How many units of work each measured scenario did.
    var unitsDone: [String: Int] {
        [
            "throughput": settings.messages * settings.subscriptions, "latency": latency.samples, "backlog": backlog.deliveries,
            "publish alone": settings.messages, "batch alone": settings.messages * 5,
        ]
    }

    /// CPU µs per delivery while the backlog drained, summed over the processes whose name starts with `prefix`.
    func backlogCPU(_ prefix: String) -> Double {
        cpuMicroseconds["backlog"]?.byProcess.filter { $0.key.hasPrefix(prefix) }.values.reduce(0, +) ?? 0
    }

    /// Throughput in the first tenth of the backlog against the last tenth (1.0 = no slowdown).
    var backlogLastToFirst: Double {
        guard let first = backlog.windowRates.first, let last = backlog.windowRates.last, first > 0 else { return 0 }
        return last / first
    }

    /// Rows as (scenario, metric, value, target, met); a scenario not run has no rows.
    private var rows: [(String, String, String, String, Bool?)] {
        let f = { (value: Double) in String(format: "%.1f", value) }
        return [
            ("throughput", "end-to-end deliveries/s", f(throughput.deliveryRate), "≥ 8000", throughput.deliveryRate >= 8000),
            (
                "throughput", "  as share of ceiling", String(format: "%.0f%%", 100 * throughput.deliveryRate / max(ceiling, 1)), "≥ 50%",
                throughput.deliveryRate >= 0.5 * ceiling
            ),
            ("throughput", "publish requests/s (\(settings.clients) clients)", f(throughput.publishRate), "≥ 3000", throughput.publishRate >= 3000),
            (
                "throughput", "publish p50 / p99 ms", "\(f(throughput.publishP50)) / \(f(throughput.publishP99))", "p99 < 20",
                throughput.publishP99 < 20
            ),
            ("publish", "  same, no worker running: requests/s", f(publishAlone.rate), "", nil),
            (
                "publish", "  same, no worker running: p50 / p99 ms", "\(f(publishAlone.p50)) / \(f(publishAlone.p99))", "p99 < 20",
                publishAlone.p99 < 20
            ),
            (
                "batch", "batch publish, batches of 100, no worker: messages/s", f(batchAlone.messagesPerSecond), "≥ 5× single",
                batchAlone.messagesPerSecond >= 5 * publishAlone.rate
            ),
            (
                "batch", "  delivery rows/s; request p50 / p99 ms",
                "\(f(batchAlone.deliveryRowsPerSecond)); \(f(batchAlone.p50)) / \(f(batchAlone.p99))", "", nil
            ),
            ("latency", "publish→arrival p50 ms (\(latency.deliveriesPerSecond)/s)", f(latency.p50), "< 10", latency.p50 < 10),
            ("latency", "publish→arrival p99 / max ms", "\(f(latency.p99)) / \(f(latency.max))", "p99 < 20", latency.p99 < 20),
            ("backlog", "backlog \(backlog.deliveries): deliveries/s", f(backlog.overallRate), "≥ 10000", backlog.overallRate >= 10000),
            (
                "backlog", "  CPU µs per delivery: workers / PostgreSQL", String(format: "%.0f / %.0f", backlogCPU("worker"), backlogCPU("postgres")),
                "≤ 60 / ≤ 70", backlogCPU("worker") <= 60 && backlogCPU("postgres") <= 70
            ),
            ("backlog", "  last tenth vs first tenth", String(format: "%.2f×", backlogLastToFirst), "≥ 0.90×", backlogLastToFirst >= 0.9),
            (
                "fairness", "fairness: fast subscriptions beside a slow one",
                Self.ratio(fairness.ratio, beside: fairness.besideSlowRate, alone: fairness.aloneRates),
                "≥ 0.90×", fairness.ratio >= 0.9
            ),
            (
                "backlog", "  WAL bytes per delivery", String(format: "%.0f", walPerUnit["backlog"]?.bytes ?? 0), "≤ 600",
                (walPerUnit["backlog"]?.bytes ?? .infinity) <= 600
            ),
            (
                "publish", "  PostgreSQL CPU µs per publish (S subscriptions)",
                String(format: "%.0f", cpuMicroseconds["publish alone"]?.byProcess["postgres"] ?? 0), "≤ 400",
                (cpuMicroseconds["publish alone"]?.byProcess["postgres"] ?? .infinity) <= 400
            ),
            (
                "idle", "drain beside \(idle.besideWhat)",
                Self.ratio(idle.ratio, beside: idle.besideRate, alone: idle.aloneRates),
                "≥ 0.90×", idle.ratio >= 0.9
            ),
            (
                "held", "drain of \(held.deliveries) with \(held.besideWhat)",
                Self.ratio(held.ratio, beside: held.besideRate, alone: held.aloneRates),
                "≥ 0.80×", held.ratio >= 0.8
            ),
            (
                "retention", "retention: a day of \(retention.deliveries) deliveries + attempts dropped: s",
                String(format: "%.2f (%.0f MB back)", retention.seconds, Double(retention.bytesReturned) / 1e6), "< 5", retention.seconds < 5
            ),
            (
                "retention", "  publish p99 ms before / during (\(retention.publishesDuring) during)",
                String(format: "%.1f / %.1f", retention.publishP99Before, retention.publishP99During), "< 50", retention.publishP99During < 50
            ),
            ("retention", "  pending deliveries of that day kept and delivered", "\(retention.keptPending)", "", nil),
            ("ceiling", "ceiling: database claim+record/s", f(databaseCeiling), "≥ 15000", databaseCeiling >= 15000),
            ("ceiling", "ceiling: receiver requests/s", "\(f(receiverCeiling.rate)) (\(receiverCeiling.method))", "", nil),
            ("ceiling", "receiver", bulkReceiver, "", nil),
            ("throughput", "peak RSS server MB", f(serverRSS), "< 100", serverRSS < 100),
            ("throughput", "peak RSS worker MB (concurrency \(settings.concurrency))", f(workerRSS), "< 100", workerRSS < 100),
        ]
    }

    /// A drain beside something against the drains alone around it: "0.91× (828 vs 906/s alone: 873, 939)".
    private static func ratio(_ ratio: Double, beside: Double, alone: [Double]) -> String {
        let mean = alone.isEmpty ? 0 : alone.reduce(0, +) / Double(alone.count)
        return String(format: "%.2f× (%.0f vs %.0f/s alone: ", ratio, beside, mean) + alone.map { String(format: "%.0f", $0) }.joined(separator: ", ")
            + ")"
    }

    func table() -> String {
        let header =
            "S=\(settings.subscriptions) M=\(settings.messages) C=\(settings.clients) N=\(settings.workers) rate=\(settings.rate)/s×\(settings.duration)s backlog=\(settings.backlog)\(settings.quick ? " (quick)" : "")"
        var lines = [header, "", pad("metric", 48) + pad("value", 34) + pad("target", 10) + "verdict", String(repeating: "-", count: 100)]
        for (scenario, name, value, target, met) in rows where settings.runs(scenario) {
            lines.append(pad(name, 48) + pad(value, 34) + pad(target, 10) + (met.map { $0 ? "met" : "NOT MET" } ?? ""))
        }
        lines.append("")
        for (scenario, usage) in cores.sorted(by: { $0.key < $1.key }) {
            lines.append("cores used during \(scenario): \(usage.coresDescription)")
        }
        lines.append("")
        for (scenario, cpu) in cpuMicroseconds.sorted(by: { $0.key < $1.key }) {
            let processes = cpu.byProcess.sorted { $0.key < $1.key }.map { String(format: "%@ %.0f", $0.key, $0.value) }
            lines.append("CPU µs per \(cpu.unit) during \(scenario): \(processes.joined(separator: ", "))")
        }
        for (scenario, wal) in walPerUnit.sorted(by: { $0.key < $1.key }) {
            lines.append(String(format: "WAL bytes per %@ during %@: %.0f", wal.unit, scenario, wal.bytes))
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    func json() throws -> Data {
        let object: [String: Any] = [
            "settings": [
                "subscriptions": settings.subscriptions, "messages": settings.messages, "clients": settings.clients,
                "workers": settings.workers, "rate": settings.rate, "duration_s": settings.duration, "backlog": settings.backlog,
                "concurrency": settings.concurrency, "batch_size": settings.batchSize, "quick": settings.quick,
            ],
            "throughput": [
                "publish_per_s": throughput.publishRate, "publish_p50_ms": throughput.publishP50, "publish_p99_ms": throughput.publishP99,
                "deliveries_per_s": throughput.deliveryRate, "share_of_ceiling": throughput.deliveryRate / max(ceiling, 1),
            ],
            "publish_alone": ["publish_per_s": publishAlone.rate, "publish_p50_ms": publishAlone.p50, "publish_p99_ms": publishAlone.p99],
            "batch_alone": [
                "batch_size": 100, "messages_per_s": batchAlone.messagesPerSecond, "delivery_rows_per_s": batchAlone.deliveryRowsPerSecond,
                "request_p50_ms": batchAlone.p50, "request_p99_ms": batchAlone.p99,
            ],
            "latency": [
                "deliveries_per_s": latency.deliveriesPerSecond, "samples": latency.samples, "p50_ms": latency.p50, "p99_ms": latency.p99,
                "max_ms": latency.max,
            ],
            "backlog": [
                "deliveries": backlog.deliveries, "deliveries_per_s": backlog.overallRate, "window_rates": backlog.windowRates,
                "last_to_first": backlogLastToFirst,
            ],
            "fairness": [
                "fast_deliveries": fairness.fastDeliveries, "slow_backlog": fairness.slowBacklog, "alone_per_s": fairness.aloneRate,
                "alone_runs_per_s": fairness.aloneRates, "beside_slow_per_s": fairness.besideSlowRate, "ratio": fairness.ratio,
            ],
            "idle_subscriptions": idle.json,
            "held_transaction": held.json,
            "retention": [
                "deliveries": retention.deliveries, "kept_pending": retention.keptPending, "seconds": retention.seconds,
                "bytes_returned": retention.bytesReturned, "publish_p99_before_ms": retention.publishP99Before,
                "publish_p99_during_ms": retention.publishP99During, "publishes_during": retention.publishesDuring,
            ],
            "wal_bytes": walBytes,
            "wal_bytes_per_unit": walPerUnit.mapValues { ["unit": $0.unit, "bytes": $0.bytes] as [String: Any] },
            "scenarios": settings.scenarios.sorted(),
            "ceiling": ["database_per_s": databaseCeiling, "receiver_per_s": receiverCeiling.rate, "receiver_method": receiverCeiling.method],
            "receiver": bulkReceiver,
            "rss_mb": ["server": serverRSS, "worker": workerRSS],
            "cores_used": cores,
            "cpu_us_per_unit": cpuMicroseconds.mapValues { ["unit": $0.unit, "by_process": $0.byProcess] as [String: Any] },
            "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount, "memory_gb": Double(ProcessInfo.processInfo.physicalMemory) / 1e9],
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}
