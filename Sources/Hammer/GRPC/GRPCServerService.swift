import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle

/// The gRPC server on `HAMMER_HTTP_HOST:HAMMER_GRPC_PORT` as a service of the application's group: `hammer.v1.Hammer`
/// and `grpc.health.v1.Health`, plaintext HTTP/2 (TLS belongs to the proxy in front, as for REST). Graceful shutdown
/// stops accepting RPCs and lets running ones finish.
struct GRPCServerService: Service {
    let host: String
    let port: Int
    /// The transport's bound on a request: twice `HAMMER_MAX_MESSAGE_BYTES`, at least grpc's 4 MiB. Beyond it the
    /// transport resets the stream (clients see UNAVAILABLE); below it `CreateMessage` answers RESOURCE_EXHAUSTED for
    /// data over the limit, as REST answers 413.
    let maxRequestBytes: Int
    /// Connections with no RPC for this long are closed (`HAMMER_HTTP_IDLE_TIMEOUT`).
    let idleTimeout: Duration
    let services: [any RegistrableRPCService]
    let interceptors: [any ServerInterceptor]
    /// Told the bound port once the server listens (port 0 binds one the kernel picks).
    let onListening: (@Sendable (Int) -> Void)?
    let logger: Logger

    /// `maxMessageBytes` is `HAMMER_MAX_MESSAGE_BYTES`; `apiKeys` the keys requests need, none for an open API.
    init(
        host: String,
        port: Int,
        maxMessageBytes: Int,
        idleTimeout: Duration,
        apiKeys: APIKeys,
        operations: ResourceOperations,
        metrics: HammerMetrics,
        logger: Logger,
        onListening: (@Sendable (Int) -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.onListening = onListening
        self.maxRequestBytes = max(4 * 1_048_576, 2 * maxMessageBytes)
        self.idleTimeout = idleTimeout
        self.services = [
            HammerGRPCService(operations: operations, maxMessageBytes: maxMessageBytes), GRPCHealthService(status: operations.status),
        ]
        self.interceptors = [
            GRPCRequestInterceptor(metrics: metrics, logger: logger), GRPCAuthInterceptor(keys: apiKeys),
            GRPCErrorInterceptor(logger: logger),
        ]
        self.logger = logger
    }

    func run() async throws {
        let server = GRPCServer(
            transport: .http2NIOPosix(
                address: .ipv4(host: host, port: port),
                transportSecurity: .plaintext,
                config: .defaults {
                    $0.rpc.maxRequestPayloadSize = maxRequestBytes
                    $0.connection.maxIdleTime = idleTimeout
                }
            ),
            services: services,
            interceptors: interceptors
        )
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                if let address = try await server.listeningAddress {
                    logger.info("gRPC server started", metadata: ["hammer.grpc.address": "\(address)"])
                    if let port = address.ipv4?.port ?? address.ipv6?.port { onListening?(port) }
                }
            }
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
