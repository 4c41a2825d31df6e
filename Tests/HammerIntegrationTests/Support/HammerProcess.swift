import Foundation
import Hammer

/// The built `hammer` executable run as an operator would, against a test database.
enum HammerProcess {
    struct Result {
        let status: Int32
        let output: String
    }

    /// `swift test` builds every product next to the test bundle.
    static let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("hammer")

    /// Runs `hammer <arguments>` with the database and `environment`, in an empty directory (no `.env`); stdout and stderr together.
    static func run(_ arguments: [String], database: DatabaseURL, environment: [String: String] = [:]) async throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw TestDatabase.SetupError("no hammer executable at \(executable.path); run swift build first")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hammer-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outputFile = directory.appendingPathComponent("output")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputFile)

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HAMMER_DATABASE_URL": database.urlString, "LOG_LEVEL": "error",
        ]
        env.merge(environment) { _, override in override }
        process.environment = env
        process.standardOutput = output
        process.standardError = output
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        try output.close()
        return Result(status: status, output: try String(contentsOf: outputFile, encoding: .utf8))
    }
}
