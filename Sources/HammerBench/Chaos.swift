import ArgumentParser
import Foundation
import Logging

/// `hammer-bench chaos`: the fault-injection scenarios of the reliability issue, against real processes.
struct Chaos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fault injection: kill -9 workers, restart PostgreSQL, hostile receivers, overload; prints a verdict table.",
        discussion: "Exits 1 when any scenario fails. Everything runs on 127.0.0.1 with a private PostgreSQL (fsync on)."
    )

    enum Scenario: String, CaseIterable, ExpressibleByArgument {
        case workerKill = "worker-kill"
        case orderedKill = "ordered-kill"
        case postgresRestart = "postgres-restart"
        case hostileReceivers = "hostile-receivers"
        case slowCallbacks = "slow-callbacks"
        case dnsOutage = "dns-outage"
        case retentionUnderLoad = "retention-under-load"
        case overload
    }

    @Option(
        help:
            "Scenarios to run, comma separated: worker-kill, ordered-kill, postgres-restart, hostile-receivers, slow-callbacks, dns-outage, overload."
    )
    var only: String?
    @Option(help: "Worker-kill scenario: deliveries (subscriptions × messages).") var deliveries: Int = 20_000
    @Option(help: "Worker-kill scenario: how many times a worker is killed with SIGKILL.") var kills: Int = 10
    @Option(help: "Overload scenario: seconds of publishing faster than delivery.") var overloadSeconds: Int = 60
    @Option(help: "Directory holding the hammer binary.") var binaries: String = ".build/debug"
    @Option(help: "Where the JSON report goes.") var report: String = ".local/chaos/report.json"
    @Option(help: "Port of the scenarios' PostgreSQL on 127.0.0.1.") var pgPort: Int = 25433
    @Flag(help: "Smaller and shorter scenarios (a smoke test).") var quick = false

    mutating func validate() throws {
        if quick { (deliveries, kills, overloadSeconds) = (2000, 3, 8) }
        guard deliveries >= 100, kills >= 1, overloadSeconds >= 2 else {
            throw ValidationError("--deliveries must be at least 100, --kills at least 1, --overload-seconds at least 2")
        }
        for name in only?.split(separator: ",") ?? [] where Scenario(rawValue: String(name)) == nil {
            throw ValidationError("unknown scenario \(name); choose from \(Scenario.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let scenarios = only.map { $0.split(separator: ",").compactMap { Scenario(rawValue: String($0)) } } ?? Scenario.allCases
        let settings = ChaosSettings(deliveries: deliveries, kills: kills, overloadSeconds: overloadSeconds, quick: quick)
        try FileManager.default.createDirectory(atPath: ".local/chaos", withIntermediateDirectories: true)
        let harness = try await ChaosHarness.start(binaries: binaries, pgPort: pgPort)
        var verdicts: [ChaosVerdict] = []
        do {
            for scenario in scenarios {
                progress("== \(scenario.rawValue)")
                try await harness.prepare()
                let verdict: ChaosVerdict
                switch scenario {
                case .workerKill: verdict = try await harness.workerKill(settings)
                case .orderedKill: verdict = try await harness.orderedKill(settings)
                case .postgresRestart: verdict = try await harness.postgresRestart(settings)
                case .hostileReceivers: verdict = try await harness.hostileReceivers(settings)
                case .slowCallbacks: verdict = try await harness.slowCallbacks(settings)
                case .dnsOutage: verdict = try await harness.dnsOutage(settings)
                case .retentionUnderLoad: verdict = try await harness.retentionUnderLoad(settings)
                case .overload: verdict = try await harness.overload(settings)
                }
                await harness.stopProcesses()
                progress(verdict.summary)
                verdicts.append(verdict)
            }
        } catch {
            await harness.shutdown()
            throw error
        }
        await harness.shutdown()
        progress("\n" + ChaosVerdict.table(verdicts))
        let object: [String: Any] = ["settings": settings.json, "scenarios": verdicts.map(\.json)]
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: report))
        progress("report: \(report)")
        if verdicts.contains(where: { !$0.passed }) { throw ExitCode(1) }
    }
}

struct ChaosSettings: Sendable {
    var deliveries, kills, overloadSeconds: Int
    var quick: Bool

    var json: [String: Any] { ["deliveries": deliveries, "kills": kills, "overload_seconds": overloadSeconds, "quick": quick] }
}

/// One scenario's outcome: the table row, the checks behind the verdict, and details for the report.
struct ChaosVerdict {
    var scenario: String
    var deliveries = 0
    var lost = 0
    var duplicates = 0
    var maxRSS = 0.0
    /// Each check with whether it held; the scenario passes when all hold.
    var checks: [(String, Bool)] = []
    /// Facts worth reading (figures, bounds), printed under the table.
    var notes: [String] = []

    var passed: Bool { !checks.isEmpty && checks.allSatisfy(\.1) }

    mutating func check(_ description: String, _ holds: Bool) { checks.append((description, holds)) }

    var summary: String {
        let lines = checks.map { "  \($0.1 ? "ok  " : "FAIL") \($0.0)" } + notes.map { "  note \($0)" }
        return ([scenario + ": " + (passed ? "PASS" : "FAIL")] + lines).joined(separator: "\n")
    }

    static func table(_ verdicts: [ChaosVerdict]) -> String {
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
        }
        var lines = [
            pad("scenario", 20) + pad("deliveries", 12) + pad("lost", 6) + pad("duplicates", 12) + pad("max RSS MB", 12) + "verdict",
            String(repeating: "-", count: 70),
        ]
        for verdict in verdicts {
            lines.append(
                pad(verdict.scenario, 20) + pad("\(verdict.deliveries)", 12) + pad("\(verdict.lost)", 6) + pad("\(verdict.duplicates)", 12)
                    + pad(String(format: "%.1f", verdict.maxRSS), 12) + (verdict.passed ? "PASS" : "FAIL")
            )
        }
        // Each scenario's checks were printed as it ended; the failed ones are repeated under the table.
        for verdict in verdicts where !verdict.passed {
            lines.append("")
            lines.append(verdict.summary)
        }
        return lines.joined(separator: "\n")
    }

    var json: [String: Any] {
        [
            "scenario": scenario, "deliveries": deliveries, "lost": lost, "duplicates": duplicates, "max_rss_mb": maxRSS,
            "passed": passed, "checks": checks.map { ["check": $0.0, "holds": $0.1] }, "notes": notes,
        ]
    }
}
