import GRPCCore
import ServiceLifecycle

/// `grpc.health.v1.Health`: SERVING while the database answers (as `/readiness`), for the server as a whole (`""`)
/// and for `hammer.v1.Hammer`; other service names are NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch).
struct GRPCHealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    static let descriptor = Grpc_Health_V1_Health.descriptor
    private static let servedNames: Set = ["", Hammer_V1_Hammer.descriptor.fullyQualifiedService]

    let status: StatusOperations
    /// How often Watch asks the database again.
    var watchInterval = Duration.seconds(5)

    func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard Self.servedNames.contains(request.service) else {
            throw RPCError(code: .notFound, message: "unknown service \"\(request.service)\"")
        }
        let status = Grpc_Health_V1_HealthCheckResponse.ServingStatus(serving: await status.isDatabaseReachable())
        return .with { $0.status = status }
    }

    /// Sends the status now and again whenever it changes, until the client goes away or the server stops.
    func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        // A watch never ends on its own: it must not hold up the server's graceful shutdown.
        do {
            try await watchStatus(of: request.service, into: response)
        } catch is CancellationError where Task.isShuttingDownGracefully {
            throw RPCError(code: .unavailable, message: "the server is shutting down")
        }
    }

    private func watchStatus(of service: String, into response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>) async throws {
        try await cancelWhenGracefulShutdown {
            var last: Grpc_Health_V1_HealthCheckResponse.ServingStatus?
            while true {
                let status: Grpc_Health_V1_HealthCheckResponse.ServingStatus =
                    Self.servedNames.contains(service) ? .init(serving: await status.isDatabaseReachable()) : .serviceUnknown
                if status != last {
                    try await response.write(.with { $0.status = status })
                    last = status
                }
                // Throws when the client goes away or the server shuts down, which ends the RPC.
                try await Task.sleep(for: watchInterval)
            }
        }
    }
}

extension Grpc_Health_V1_HealthCheckResponse.ServingStatus {
    fileprivate init(serving: Bool) { self = serving ? .serving : .notServing }
}
