import ArgumentParser
import Hammer

struct Server: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the REST API, /liveness, /readiness on HAMMER_HTTP_HOST:HAMMER_HTTP_PORT.")

    func run() async throws {
        let runtime = try Runtime()
        let app = buildApplication(config: runtime.config, client: runtime.makeClient(), logger: runtime.logger)
        try await app.runService()
    }
}

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deliver pending deliveries (health on HAMMER_HEALTH_CHECK_PORT).")

    func run() async throws {
        throw ValidationError("the delivery worker is not built yet (next issue); `hammer server` serves the API")
    }
}

struct All: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server and the worker in one process (development, small installs).")

    func run() async throws {
        throw ValidationError("the delivery worker is not built yet (next issue); use `hammer server`")
    }
}
