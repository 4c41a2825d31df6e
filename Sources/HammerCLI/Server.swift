import ArgumentParser
import Hammer
import Hummingbird
import ServiceLifecycle

struct Server: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Serve the REST API, the web console (/ui), /liveness, /readiness, /metrics on HAMMER_HTTP_HOST:HAMMER_HTTP_PORT, and gRPC on HAMMER_GRPC_PORT."
    )

    func run() async throws {
        let runtime = try Runtime()
        let app = buildApplication(config: runtime.config, client: runtime.makeClient(), logger: runtime.logger)
        try await app.runService()
    }
}

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deliver pending deliveries; /liveness, /readiness, /metrics on HAMMER_HEALTH_CHECK_PORT.",
        discussion:
            "Any number of workers may run against one database. SIGTERM/SIGINT stop claiming, let in-flight sends finish within HAMMER_WORKER_SHUTDOWN_TIMEOUT, and hand unfinished deliveries back."
    )

    func run() async throws {
        let runtime = try Runtime()
        let client = runtime.makeClient()
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: client)] + buildWorker(config: runtime.config, client: client, logger: runtime.logger),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: runtime.logger
            )
        )
        try await group.run()
    }
}

struct All: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server (REST, web console, gRPC) and the worker in one process (development, small installs)."
    )

    func run() async throws {
        let runtime = try Runtime()
        let client = runtime.makeClient()
        let metrics = HammerMetrics()
        let worker = buildWorker(config: runtime.config, client: client, logger: runtime.logger, metrics: metrics, healthServer: false)
        let app = buildApplication(config: runtime.config, client: client, logger: runtime.logger, metrics: metrics, services: worker.map(\.service))
        try await app.runService()
    }
}
