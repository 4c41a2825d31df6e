import Foundation

/// A child process of the benchmark (server, worker, sink), stopped with SIGTERM.
final class ChildProcess: @unchecked Sendable {
    let name: String
    let process: Process

    /// Starts `executable`; its output goes to `logPath`, appended to when `append` (a restarted process).
    init(name: String, executable: String, arguments: [String], environment: [String: String], logPath: String, append: Bool = false) throws {
        self.name = name
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        if !append || !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = FileHandle(forWritingAtPath: logPath)
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Peak resident set size (VmHWM) in MB, read from /proc while the process lives.
    var peakRSSMegabytes: Double { Self.statusMegabytes(pid: pid, field: "VmHWM:") }

    private static func statusMegabytes(pid: Int32, field: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) })
        else { return 0 }
        let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        return kilobytes / 1024
    }

    /// SIGKILL: no shutdown handler runs, as in a crash or an OOM kill.
    func kill9() {
        kill(pid, SIGKILL)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(5_000) }
    }

    var isRunning: Bool { process.isRunning }

    /// Current resident set size (VmRSS) in MB.
    var rssMegabytes: Double { Self.statusMegabytes(pid: pid, field: "VmRSS:") }

    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
    }
}

/// Runs a shell command to completion, failing on a non-zero exit.
func shell(_ command: String) throws {
    let status = spawnAndWait(["/bin/bash", "-c", command], captureTo: nil)
    guard status == 0 else { throw BenchError("command failed (\(status)): \(command)") }
}

/// Runs a command and returns its standard output (nil when it fails).
func capture(_ command: String) -> String? {
    let path = NSTemporaryDirectory() + "hammer-bench-\(UUID().uuidString).out"
    defer { try? FileManager.default.removeItem(atPath: path) }
    guard spawnAndWait(["/bin/bash", "-c", command + " 2>/dev/null"], captureTo: path) == 0 else { return nil }
    return try? String(contentsOfFile: path, encoding: .utf8)
}

/// posix_spawn + waitpid: Foundation's `Process.waitUntilExit` can stall when called from async code.
private func spawnAndWait(_ arguments: [String], captureTo path: String?) -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let path { posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
    var pid: pid_t = 0
    let argv = arguments.map { strdup($0) } + [nil]
    defer { for argument in argv { free(argument) } }
    guard posix_spawn(&pid, arguments[0], &actions, nil, argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1, errno == EINTR {}
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// CPU seconds used so far by the benchmark's parts: each child, every PostgreSQL process, and this process.
struct CPUSnapshot {
    let at = ContinuousClock.now
    let seconds: [String: Double]

    init(children: [ChildProcess]) {
        var seconds: [String: Double] = [:]
        for child in children { seconds[child.name] = Self.cpuSeconds(pid: child.pid) }
        // PostgreSQL and nginx run one process per backend/worker: add them all up.
        var postgres = 0.0
        var nginx = 0.0
        var stats: [Int32: Stat] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = Self.stat(pid: pid) else { continue }
            stats[pid] = stat
        }
        for stat in stats.values {
            // The postmaster's reaped children (autovacuum workers, backends that ended) count through it: they
            // come and go between snapshots, and vacuuming the delivery tables is part of what a delivery costs.
            let isPostmaster = stats[stat.parent].map { !$0.comm.hasPrefix("postgres") } ?? true
            if stat.comm.hasPrefix("postgres") { postgres += stat.seconds + (isPostmaster ? stat.reapedChildrenSeconds : 0) }
            if stat.comm.hasPrefix("nginx") { nginx += stat.seconds }
        }
        seconds["postgres"] = postgres
        if nginx > 0 { seconds["nginx"] = nginx }
        seconds["bench"] = Self.cpuSeconds(pid: getpid())
        self.seconds = seconds
    }

    /// Cores used by each part between `earlier` and this snapshot, e.g. `worker0 0.82, postgres 0.61`.
    func coresSince(_ earlier: CPUSnapshot) -> [String: Double] {
        let wall = (at - earlier.at).inSeconds
        var cores: [String: Double] = [:]
        for (name, value) in seconds { cores[name] = max(0, value - (earlier.seconds[name] ?? 0)) / max(wall, 0.001) }
        return cores
    }

    static func cpuSeconds(pid: Int32) -> Double { stat(pid: pid)?.seconds ?? 0 }

    private struct Stat {
        var comm: String
        var parent: Int32
        /// User and system time of the process itself.
        var seconds: Double
        /// User and system time of its children that ended and were waited for.
        var reapedChildrenSeconds: Double
    }

    private static func stat(pid: Int32) -> Stat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")")
        else { return nil }
        let comm = String(text[text.index(after: open)..<close])
        let fields = text[text.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 14, let parent = Int32(fields[1]), let user = Double(fields[11]), let system = Double(fields[12]),
            let childrenUser = Double(fields[13]), let childrenSystem = Double(fields[14])
        else { return nil }
        let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
        return Stat(comm: comm, parent: parent, seconds: (user + system) / tick, reapedChildrenSeconds: (childrenUser + childrenSystem) / tick)
    }
}

extension Dictionary where Key == String, Value == Double {
    var coresDescription: String {
        sorted { $0.key < $1.key }.map { String(format: "%@ %.2f", $0.key, $0.value) }.joined(separator: ", ")
    }
}
