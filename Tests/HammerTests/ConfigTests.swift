import Foundation
import Testing

@testable import Hammer

@Suite struct ConfigTests {
    let url = "postgres://user:pass@db.example:6543/hammer?sslmode=disable"

    @Test func defaultsMatchTheSpec() throws {
        let config = try Config(environment: ["HAMMER_DATABASE_URL": url])
        #expect(config.databaseMaxOpenConns == 10)
        #expect(config.httpHost == "127.0.0.1")
        #expect(config.httpPort == 8000)
        #expect(config.healthCheckPort == 9000)
        #expect(config.defaultPaginationLimit == 25)
        #expect(config.maxPaginationLimit == 50)
        #expect(config.apiKeys.isEmpty)
        #expect(config.maxMessageBytes == 1_048_576)
        #expect(config.allowPrivateTargets == false)
        #expect(config.workerConcurrency == 64)
        #expect(config.workerBatchSize == 100)
        #expect(config.workerPollInterval == .seconds(1))
        #expect(config.maxRetryDelay == 86400)
        #expect(config.maxResponseBodyBytes == 65536)
        #expect(config.logLevel == .info)
        #expect(config.logFormat == .json)
        #expect(config.database.host == "db.example")
        #expect(config.database.port == 6543)
        #expect(config.database.username == "user")
        #expect(config.database.password == "pass")
        #expect(config.database.database == "hammer")
        #expect(config.database.sslMode == .disable)
    }

    @Test func parsesEveryVariable() throws {
        let config = try Config(environment: [
            "HAMMER_DATABASE_URL": url, "HAMMER_DATABASE_MAX_OPEN_CONNS": "3", "HAMMER_HTTP_HOST": "0.0.0.0",
            "HAMMER_HTTP_PORT": "8080", "HAMMER_HEALTH_CHECK_PORT": "9090", "HAMMER_DEFAULT_PAGINATION_LIMIT": "10",
            "HAMMER_MAX_PAGINATION_LIMIT": "20", "HAMMER_API_KEYS": " a ,b,, ", "HAMMER_MAX_MESSAGE_BYTES": "2048",
            "HAMMER_ALLOW_PRIVATE_TARGETS": "true", "HAMMER_WORKER_CONCURRENCY": "8", "HAMMER_WORKER_BATCH_SIZE": "50",
            "HAMMER_WORKER_POLL_INTERVAL": "250ms", "HAMMER_MAX_RETRY_DELAY": "600", "HAMMER_MAX_RESPONSE_BODY_BYTES": "100",
            "LOG_LEVEL": "debug", "HAMMER_LOG_FORMAT": "text",
        ])
        #expect(config.databaseMaxOpenConns == 3)
        #expect(config.httpHost == "0.0.0.0")
        #expect(config.httpPort == 8080)
        #expect(config.healthCheckPort == 9090)
        #expect(config.defaultPaginationLimit == 10)
        #expect(config.maxPaginationLimit == 20)
        #expect(config.apiKeys == ["a", "b"])
        #expect(config.maxMessageBytes == 2048)
        #expect(config.allowPrivateTargets)
        #expect(config.workerConcurrency == 8)
        #expect(config.workerBatchSize == 50)
        #expect(config.workerPollInterval == .milliseconds(250))
        #expect(config.maxRetryDelay == 600)
        #expect(config.maxResponseBodyBytes == 100)
        #expect(config.logLevel == .debug)
        #expect(config.logFormat == .text)
    }

    @Test(arguments: [
        ("HAMMER_DATABASE_URL", "mysql://x"),
        ("HAMMER_DATABASE_URL", "postgres://localhost"),
        ("HAMMER_DATABASE_URL", "postgres://user@host/db?sslmode=sometimes"),
        ("HAMMER_DATABASE_MAX_OPEN_CONNS", "0"),
        ("HAMMER_HTTP_PORT", "eighty"),
        ("HAMMER_HTTP_PORT", "70000"),
        ("HAMMER_HEALTH_CHECK_PORT", "-1"),
        ("HAMMER_MAX_PAGINATION_LIMIT", "0"),
        ("HAMMER_MAX_MESSAGE_BYTES", "1.5"),
        ("HAMMER_ALLOW_PRIVATE_TARGETS", "maybe"),
        ("HAMMER_WORKER_CONCURRENCY", "0"),
        ("HAMMER_WORKER_BATCH_SIZE", "x"),
        ("HAMMER_WORKER_POLL_INTERVAL", "soon"),
        ("HAMMER_DISABLE_AFTER_FAILING_FOR", "400d"),
        ("HAMMER_DISABLE_AFTER_FAILING_FOR", "-1h"),
        ("HAMMER_DISABLE_ON_GONE", "maybe"),
        ("HAMMER_WORKER_POLL_INTERVAL", "0s"),
        ("HAMMER_MAX_RETRY_DELAY", "0"),
        ("HAMMER_MAX_RESPONSE_BODY_BYTES", "-1"),
        ("LOG_LEVEL", "loud"),
        ("HAMMER_LOG_FORMAT", "xml"),
        ("HAMMER_PARTITION_INTERVAL", "30s"),
        ("HAMMER_PARTITION_INTERVAL", "31d"),
        ("HAMMER_PARTITION_INTERVAL", "90.5s"),
        ("HAMMER_PARTITION_INTERVAL", "0"),
        ("HAMMER_RETENTION", "10s"),
        ("HAMMER_RETENTION", "forever"),
        ("HAMMER_RETENTION", "-30d"),
        ("HAMMER_RETENTION", "12h"),
    ])
    func invalidValuesNameTheVariable(variable: String, value: String) throws {
        var env = ["HAMMER_DATABASE_URL": url]
        env[variable] = value
        let error = #expect(throws: ConfigError.self) { try Config(environment: env) }
        #expect(error?.variable == variable)
        #expect(error?.description.contains(variable) == true)
    }

    @Test func databaseURLIsRequired() {
        let error = #expect(throws: ConfigError.self) { try Config(environment: [:]) }
        #expect(error?.variable == "HAMMER_DATABASE_URL")
    }

    @Test func defaultLimitMustNotExceedMax() {
        let error = #expect(throws: ConfigError.self) {
            try Config(environment: ["HAMMER_DATABASE_URL": url, "HAMMER_DEFAULT_PAGINATION_LIMIT": "60"])
        }
        #expect(error?.variable == "HAMMER_DEFAULT_PAGINATION_LIMIT")
    }

    @Test func durationsAcceptGoStyleAndSeconds() throws {
        for (raw, expected) in [("2s", Duration.seconds(2)), ("1m", .seconds(60)), ("0.5", .milliseconds(500)), ("750ms", .milliseconds(750))] {
            let config = try Config(environment: ["HAMMER_DATABASE_URL": url, "HAMMER_WORKER_POLL_INTERVAL": raw])
            #expect(config.workerPollInterval == expected, "\(raw)")
        }
    }

    @Test func partitioningSettings() throws {
        let defaults = try Config(environment: ["HAMMER_DATABASE_URL": url])
        #expect(defaults.partitioning == Partitioning(interval: .seconds(86400), retention: nil))
        let set = try Config(environment: ["HAMMER_DATABASE_URL": url, "HAMMER_PARTITION_INTERVAL": "6h", "HAMMER_RETENTION": "30d"])
        #expect(set.partitioning == Partitioning(interval: .seconds(6 * 3600), retention: .seconds(30 * 86400)))
        let kept = try Config(environment: ["HAMMER_DATABASE_URL": url, "HAMMER_PARTITION_INTERVAL": "1m", "HAMMER_RETENTION": "0"])
        #expect(kept.partitioning == Partitioning(interval: .seconds(60), retention: nil))
        let error = #expect(throws: ConfigError.self) { try Config(environment: ["HAMMER_DATABASE_URL": url, "HAMMER_RETENTION": "10s"]) }
        #expect(
            error?.description
                == "invalid configuration: HAMMER_RETENTION must be 0 or a duration between 1m and 3650d, such as 1d or 12h; got \"10s\""
        )
    }

    @Test func autoDisableSettings() throws {
        let defaults = try Config(environment: ["HAMMER_DATABASE_URL": url])
        #expect(defaults.autoDisable == AutoDisable(onGone: true, afterFailingFor: .seconds(120 * 3600)))
        let never = try Config(environment: ["HAMMER_DATABASE_URL": url, "HAMMER_DISABLE_AFTER_FAILING_FOR": "0", "HAMMER_DISABLE_ON_GONE": "false"])
        #expect(never.autoDisable == AutoDisable(onGone: false, afterFailingFor: nil))
        let days = try Config(environment: ["HAMMER_DATABASE_URL": url, "HAMMER_DISABLE_AFTER_FAILING_FOR": "5d"])
        #expect(days.autoDisable.afterFailingFor == .seconds(5 * 86400))
    }

    @Test func unixSocketURL() throws {
        let config = try Config(environment: ["HAMMER_DATABASE_URL": "postgres://hammer@/hammer?host=/var/run/postgresql&port=5433"])
        #expect(config.database.unixSocketDirectory == "/var/run/postgresql")
        #expect(config.database.port == 5433)
        #expect(try DatabaseURL(config.database.urlString) == config.database)
    }
}

@Suite struct DotEnvTests {
    @Test func parsesCommentsQuotesAndExport() {
        let values = DotEnv.parse(
            """
            # comment
            HAMMER_HTTP_PORT=8001
            export HAMMER_LOG_FORMAT=text
            QUOTED="a b # c"
            SINGLE='x=y'
            TRAILING=value # note

            NOEQUALS
            """
        )
        #expect(values == ["HAMMER_HTTP_PORT": "8001", "HAMMER_LOG_FORMAT": "text", "QUOTED": "a b # c", "SINGLE": "x=y", "TRAILING": "value"])
    }

    @Test func processEnvironmentWinsOverDotEnv() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(".env").path
        try "HAMMER_DATABASE_URL=postgres://u@h/d\nPATH=/nowhere\n".write(toFile: path, atomically: true, encoding: .utf8)
        let loaded = try DotEnv.load(path: path)
        #expect(loaded["HAMMER_DATABASE_URL"] == "postgres://u@h/d")
    }
}

@Suite struct DurationTextTests {
    @Test func readsNumbersWithUnitsAndBareSeconds() {
        let cases: [(String, Duration?)] = [
            ("500ms", .milliseconds(500)), ("45s", .seconds(45)), ("10m", .seconds(600)), ("12h", .seconds(43200)), ("30d", .seconds(2_592_000)),
            ("2w", .seconds(1_209_600)), ("1.5s", .milliseconds(1500)), ("3", .seconds(3)), ("0", .zero), ("-1s", nil), ("soon", nil), ("", nil),
            ("5x", nil), ("nan", nil), ("infs", nil),
            // Nanoseconds of 9e9 s and more do not fit in 64 bits: refused, never a trap.
            ("8000000000s", .seconds(8_000_000_000)), ("9000000000s", nil), ("9.2e9", nil), ("1e12s", nil), ("20000000w", nil),
        ]
        for (text, expected) in cases { #expect(DurationText.parse(text) == expected, "\(text)") }
    }
}
