import Foundation
import Logging
import PostgresNIO

/// Every setting hammer reads from the environment, parsed and validated once at start-up.
public struct Config: Sendable {
    public typealias LogFormat = Hammer.LogFormat

    public var database: DatabaseURL
    public var databaseMaxOpenConns: Int
    public var httpHost: String
    public var httpPort: Int
    public var healthCheckPort: Int
    /// The gRPC API's port on `httpHost` (`hammer server`, `hammer all`); `nil` when `HAMMER_GRPC_PORT` is 0. Set to 0
    /// in code, the server binds a port the kernel picks.
    public var grpcPort: Int?
    public var defaultPaginationLimit: Int
    public var maxPaginationLimit: Int
    public var apiKeys: [String]
    public var maxMessageBytes: Int
    /// Largest body of `POST /v1/messages/batch`.
    public var maxBatchBytes: Int
    /// How long an `Idempotency-Key` stays live.
    public var idempotencyTTL: Duration
    /// The width of the time partitions (`HAMMER_PARTITION_INTERVAL`) and how long history is kept (`HAMMER_RETENTION`).
    public var partitioning: Partitioning
    public var allowPrivateTargets: Bool
    public var workerConcurrency: Int
    /// Send slots of a worker one subscription may hold (its fair share); a quarter of the concurrency by default.
    public var subscriptionMaxInFlight: Int
    public var workerBatchSize: Int
    public var workerPollInterval: Duration
    public var workerShutdownTimeout: Duration
    public var maxRetryDelay: Int
    /// When workers disable a subscription on their own (docs/endpoint-health.md).
    public var autoDisable: AutoDisable
    public var maxResponseBodyBytes: Int
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    /// A directory of migrations to apply instead of those built into the binary.
    public var migrationsPath: String?
    /// Console cookies carry `Secure` on every response, not only on requests a proxy says came over https.
    public var consoleSecureCookies: Bool
    /// How long the API listeners keep a connection with no request in progress (idle keep-alive), and how long a
    /// request's head may take to arrive.
    public var httpIdleTimeout: Duration
    /// Connections each HTTP listener holds open at most; a connection past it is closed as soon as it is accepted.
    public var httpMaxConnections: Int

    /// Whether `host` (`HAMMER_HTTP_HOST`) is reachable from this machine only.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Reads the process environment, with `.env` in the working directory filling in unset variables.
    public static func load(dotEnvPath: String = ".env") throws(ConfigError) -> Config {
        var environment = (try? DotEnv.load(path: dotEnvPath)) ?? [:]
        environment.merge(ProcessInfo.processInfo.environment) { _, process in process }
        return try Config(environment: environment)
    }

    /// Parses the given variables; throws naming the first invalid one.
    public init(environment env: [String: String]) throws(ConfigError) {
        let reader = ConfigReader(env)
        guard let url = reader.string("HAMMER_DATABASE_URL") else {
            throw ConfigError(variable: "HAMMER_DATABASE_URL", reason: "is required (postgres://user:pass@host:port/db?sslmode=disable)")
        }
        do {
            self.database = try DatabaseURL(url)
        } catch {
            throw ConfigError(variable: "HAMMER_DATABASE_URL", reason: error.reason)
        }
        self.databaseMaxOpenConns = try reader.int("HAMMER_DATABASE_MAX_OPEN_CONNS", default: 10, in: 1...1000)
        self.httpHost = reader.string("HAMMER_HTTP_HOST") ?? "127.0.0.1"
        self.httpPort = try reader.int("HAMMER_HTTP_PORT", default: 8000, in: 0...65535)
        self.healthCheckPort = try reader.int("HAMMER_HEALTH_CHECK_PORT", default: 9000, in: 0...65535)
        let grpcPort = try reader.int("HAMMER_GRPC_PORT", default: 50051, in: 0...65535)
        self.grpcPort = grpcPort == 0 ? nil : grpcPort
        self.defaultPaginationLimit = try reader.int("HAMMER_DEFAULT_PAGINATION_LIMIT", default: 25, in: 1...10000)
        self.maxPaginationLimit = try reader.int("HAMMER_MAX_PAGINATION_LIMIT", default: 50, in: 1...10000)
        if defaultPaginationLimit > maxPaginationLimit {
            throw ConfigError(
                variable: "HAMMER_DEFAULT_PAGINATION_LIMIT",
                reason: "must not exceed HAMMER_MAX_PAGINATION_LIMIT (\(maxPaginationLimit)), got \(defaultPaginationLimit)"
            )
        }
        self.apiKeys = (reader.string("HAMMER_API_KEYS") ?? "")
            .split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        self.maxMessageBytes = try reader.int("HAMMER_MAX_MESSAGE_BYTES", default: 1_048_576, in: 1...(64 * 1_048_576))
        self.maxBatchBytes = try reader.int("HAMMER_MAX_BATCH_BYTES", default: 10 * 1_048_576, in: 1...(256 * 1_048_576))
        guard let ttl = try reader.period("HAMMER_IDEMPOTENCY_TTL", default: .seconds(86400)) else {
            throw ConfigError(variable: "HAMMER_IDEMPOTENCY_TTL", reason: "must be a duration from 1s to 365d such as 24h; got 0")
        }
        self.idempotencyTTL = ttl
        let interval = try reader.duration("HAMMER_PARTITION_INTERVAL", default: .seconds(86400), in: Partitioning.intervals)
        guard interval.components.attoseconds == 0 else {
            throw ConfigError(variable: "HAMMER_PARTITION_INTERVAL", reason: "must be a whole number of seconds, such as 1d, 6h or 90s")
        }
        let retention = try reader.duration("HAMMER_RETENTION", default: .zero, in: Partitioning.retentions, orZero: true)
        self.partitioning = Partitioning(interval: interval, retention: retention == .zero ? nil : retention)
        if let kept = partitioning.retention, kept < idempotencyTTL {
            // A key must not outlive its messages: a replay would publish again what is still kept, and send it twice.
            throw ConfigError(
                variable: "HAMMER_RETENTION",
                reason: "must be 0 or at least HAMMER_IDEMPOTENCY_TTL (\(DurationText.format(idempotencyTTL))), got \(DurationText.format(kept))"
            )
        }
        self.allowPrivateTargets = try reader.bool("HAMMER_ALLOW_PRIVATE_TARGETS", default: false)
        self.workerConcurrency = try reader.int("HAMMER_WORKER_CONCURRENCY", default: 64, in: 1...10000)
        self.subscriptionMaxInFlight = try reader.int(
            "HAMMER_SUBSCRIPTION_MAX_IN_FLIGHT",
            default: max(1, workerConcurrency / 4),
            in: 1...workerConcurrency
        )
        self.workerBatchSize = try reader.int("HAMMER_WORKER_BATCH_SIZE", default: 100, in: 1...10000)
        self.workerPollInterval = try reader.duration("HAMMER_WORKER_POLL_INTERVAL", default: .seconds(1))
        self.workerShutdownTimeout = try reader.duration("HAMMER_WORKER_SHUTDOWN_TIMEOUT", default: .seconds(10))
        self.maxRetryDelay = try reader.int("HAMMER_MAX_RETRY_DELAY", default: 86400, in: 1...(365 * 86400))
        self.autoDisable = AutoDisable(
            onGone: try reader.bool("HAMMER_DISABLE_ON_GONE", default: true),
            afterFailingFor: try reader.period("HAMMER_DISABLE_AFTER_FAILING_FOR", default: .seconds(120 * 3600))
        )
        self.maxResponseBodyBytes = try reader.int("HAMMER_MAX_RESPONSE_BODY_BYTES", default: 65536, in: 0...(64 * 1_048_576))
        let level = reader.string("LOG_LEVEL")?.lowercased() ?? "info"
        guard let logLevel = Logger.Level(rawValue: level == "warn" ? "warning" : level) else {
            throw ConfigError(variable: "LOG_LEVEL", reason: "must be one of trace, debug, info, notice, warning, error, critical; got \"\(level)\"")
        }
        self.logLevel = logLevel
        let format = reader.string("HAMMER_LOG_FORMAT")?.lowercased() ?? "json"
        guard let logFormat = LogFormat(rawValue: format) else {
            throw ConfigError(variable: "HAMMER_LOG_FORMAT", reason: "must be json or text; got \"\(format)\"")
        }
        self.logFormat = logFormat
        self.migrationsPath = reader.string("HAMMER_MIGRATIONS_PATH")
        self.consoleSecureCookies = try reader.bool("HAMMER_CONSOLE_SECURE_COOKIES", default: false)
        self.httpIdleTimeout = try reader.duration("HAMMER_HTTP_IDLE_TIMEOUT", default: .seconds(60))
        self.httpMaxConnections = try reader.int("HAMMER_HTTP_MAX_CONNECTIONS", default: 512, in: 1...100_000)
    }
}

/// A configuration variable that is missing or invalid.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var variable: String
    public var reason: String
    public var description: String { "invalid configuration: \(variable) \(reason)" }
}

/// Typed access to environment variables; empty values count as unset.
private struct ConfigReader {
    let env: [String: String]
    init(_ env: [String: String]) { self.env = env }

    func string(_ name: String) -> String? {
        guard let value = env[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    func int(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let raw = string(name) else { return fallback }
        guard let value = Int(raw) else {
            throw ConfigError(variable: name, reason: "must be an integer, got \"\(raw)\"")
        }
        guard range.contains(value) else {
            throw ConfigError(variable: name, reason: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    func bool(_ name: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let raw = string(name) else { return fallback }
        switch raw.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw ConfigError(variable: name, reason: "must be true or false, got \"\(raw)\"")
        }
    }

    /// A duration as `DurationText` reads it, up to a year; `0` is `nil` (never).
    func period(_ name: String, default fallback: Duration) throws(ConfigError) -> Duration? {
        guard let raw = string(name) else { return fallback }
        guard let value = DurationText.parse(raw), value <= .seconds(365 * 86400) else {
            throw ConfigError(variable: name, reason: "must be a duration up to 365d such as 30s, 12h or 5d, or 0 for never; got \"\(raw)\"")
        }
        return value == .zero ? nil : value
    }

    /// A duration as `DurationText` reads it within `range` (or `0` when `orZero`).
    func duration(_ name: String, default fallback: Duration, in range: ClosedRange<Duration>, orZero: Bool = false) throws(ConfigError) -> Duration {
        guard let raw = string(name) else { return fallback }
        guard let value = DurationText.parse(raw), range.contains(value) || (orZero && value == .zero) else {
            let bounds = "between \(DurationText.format(range.lowerBound)) and \(DurationText.format(range.upperBound))"
            throw ConfigError(variable: name, reason: "must be \(orZero ? "0 or " : "")a duration \(bounds), such as 1d or 12h; got \"\(raw)\"")
        }
        return value
    }

    /// A duration as `DurationText` reads it (`500ms`, `1s`, `2m`, or a bare number of seconds), from 1 ms to 1 h.
    func duration(_ name: String, default fallback: Duration) throws(ConfigError) -> Duration {
        guard let raw = string(name) else { return fallback }
        guard let value = DurationText.parse(raw), value >= .milliseconds(1), value <= .seconds(3600) else {
            throw ConfigError(variable: name, reason: "must be a duration between 1ms and 1h such as 500ms, 1s or 2m; got \"\(raw)\"")
        }
        return value
    }
}
