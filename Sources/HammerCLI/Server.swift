import ArgumentParser
import Hammer
import Hummingbird
import ServiceLifecycle

struct Server: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the REST API, /liveness, /readiness, /metrics on HAMMER_HTTP_HOST:HAMMER_HTTP_PORT.")

    func run() async throws {
        let runtime = try Runtime()
        let app = buildApplication(config: runtime.config, client: runtime.makeClient(), logger: runtime.logger)
        try await app.runService()
    }
}

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deliver pending deliveries; /liveness, /readiness, /metrics on HAMMER_HEALTH_CHECK_PORT.",
        discussion: "Any number of workers may run against one database. SIGTERM/SIGINT stop claiming, let in-flight sends finish within HAMMER_WORKER_SHUTDOWN_TIMEOUT, and hand unfinished deliveries back.")

    func run() async throws {
        let runtime = try Runtime()
        let client = runtime.makeClient()
        let store = Store(client: client, logger: runtime.logger)
        let metrics = HammerMetrics()
        let health = buildWorkerHealthApplication(config: runtime.config, client: client, logger: runtime.logger, metrics: metrics)
        let worker = DeliveryWorker(config: runtime.config, store: store, logger: runtime.logger, metrics: metrics)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: PostgresClientService(client: client)),
                    .init(service: health),
                    .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: runtime.logger))
        try await group.run()
    }
}

struct All: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server and the worker in one process (development, small installs).")

    func run() async throws {
        let runtime = try Runtime()
        let client = runtime.makeClient()
        let metrics = HammerMetrics()
        let worker = DeliveryWorker(config: runtime.config, store: Store(client: client, logger: runtime.logger), logger: runtime.logger, metrics: metrics)
        let app = buildApplication(config: runtime.config, client: client, logger: runtime.logger, metrics: metrics, services: [worker])
        try await app.runService()
    }
}
