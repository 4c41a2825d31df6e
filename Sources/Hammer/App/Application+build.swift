import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// Builds the REST API application on `client`, which it runs as a service along with the gRPC server (unless
/// `HAMMER_GRPC_PORT` is 0) and `services` (the worker, for `hammer all`). `onGRPCListening` is told the gRPC
/// server's port once it listens (a `config.grpcPort` of 0 binds a port the kernel picks).
public func buildApplication(
    config: Config,
    client: PostgresClient,
    logger: Logger,
    metrics: HammerMetrics = HammerMetrics(),
    services: [any Service] = [],
    onGRPCListening: (@Sendable (Int) -> Void)? = nil
) -> some ApplicationProtocol {
    if config.apiKeys.isEmpty, !Config.isLoopback(config.httpHost) {
        logger.warning(
            "the API listens on a non-loopback address with no HAMMER_API_KEYS: anyone who can reach it can read every secret and send to any URL",
            metadata: ["hammer.http.host": "\(config.httpHost)"]
        )
    }
    let store = Store(client: client, logger: logger)
    let publisher = PublishBatcher(store: store, metrics: metrics, keyTTL: config.idempotencyTTL)
    let operations = ResourceOperations(config: config, store: store, publisher: publisher)
    let router = buildRouter(config: config, operations: operations, metrics: metrics)
    // gRPC starts after the PostgreSQL client and the publisher, so it stops before them.
    let grpc: [any Service] =
        config.grpcPort.map {
            [
                GRPCServerService(
                    host: config.httpHost,
                    port: $0,
                    maxMessageBytes: config.maxMessageBytes,
                    idleTimeout: config.httpIdleTimeout,
                    apiKeys: APIKeys(config.apiKeys),
                    operations: operations,
                    metrics: metrics,
                    logger: logger,
                    onListening: onGRPCListening
                )
            ]
        } ?? []
    var app = Application(
        router: router,
        server: ConnectionLimit.http1(idleTimeout: config.httpIdleTimeout, maxConnections: config.httpMaxConnections),
        configuration: .init(address: .hostname(config.httpHost, port: config.httpPort), serverName: nil),
        services: [client, publisher] + grpc + services,
        logger: logger
    )
    app.beforeServerStarts {
        try await Migrator(client: client, logger: logger).requireCurrentSchema()
    }
    return app
}

/// The worker's own small HTTP server on `HAMMER_HEALTH_CHECK_PORT`: `/liveness`, `/readiness`, `/metrics`.
public func buildWorkerHealthApplication(config: Config, client: PostgresClient, logger: Logger, metrics: HammerMetrics) -> some ApplicationProtocol {
    let router = Router(context: BasicRequestContext.self)
    let routes = RouteTableBox()
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: ErrorMiddleware(routes: routes))
    HealthController(status: StatusOperations(store: Store(client: client, logger: logger)), metrics: metrics).addRoutes(to: router)
    routes.set(router)
    return Application(
        router: router,
        server: ConnectionLimit.http1(idleTimeout: config.httpIdleTimeout, maxConnections: config.httpMaxConnections),
        configuration: .init(address: .hostname(config.httpHost, port: config.healthCheckPort), serverName: nil),
        logger: logger
    )
}

/// The router: health checks open, `/v1` behind the API keys when any are set, JSON errors everywhere; the web
/// console under `/ui`.
func buildRouter(config: Config, operations: ResourceOperations, metrics: HammerMetrics) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    let routes = RouteTableBox()
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: ErrorMiddleware(routes: routes))
    HealthController(status: operations.status, metrics: metrics).addRoutes(to: router)

    let v1 = router.group("v1")
    if !config.apiKeys.isEmpty {
        v1.add(middleware: AuthMiddleware(keys: APIKeys(config.apiKeys)))
    }
    let listQuery = operations.listQuery
    TopicController(topics: operations.topics, maxBodyBytes: config.maxMessageBytes, listQuery: listQuery).addRoutes(to: v1)
    SubscriptionController(subscriptions: operations.subscriptions, maxBodyBytes: config.maxMessageBytes, listQuery: listQuery).addRoutes(to: v1)
    MessageController(messages: operations.messages, maxBodyBytes: config.maxMessageBytes, maxBatchBytes: config.maxBatchBytes, listQuery: listQuery)
        .addRoutes(to: v1)
    DeliveryController(deliveries: operations.deliveries, listQuery: listQuery).addRoutes(to: v1)
    CallbackController(callbacks: operations.callbacks, listQuery: listQuery).addRoutes(to: v1)
    let session = config.apiKeys.isEmpty ? nil : ConsoleSession(keys: config.apiKeys)
    ConsoleController(operations: operations, session: session, secureCookies: config.consoleSecureCookies).addRoutes(to: router)
    routes.set(router)
    return router
}

extension ResourceOperations {
    /// The operations `config` describes: its page sizes, its private-target rule, idempotency keys per API key when
    /// keys are set.
    init(config: Config, store: Store, publisher: PublishBatcher) {
        self.init(
            store: store,
            publisher: publisher,
            sender: WebhookSender(config: config),
            listQuery: ListQuery(defaultLimit: config.defaultPaginationLimit, maxLimit: config.maxPaginationLimit),
            allowPrivateTargets: config.allowPrivateTargets,
            authenticated: !config.apiKeys.isEmpty
        )
    }
}
