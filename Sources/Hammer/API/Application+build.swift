import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// Builds the REST API application on `client`, which it runs as a service along with `services`
/// (the worker, for `hammer all`).
public func buildApplication(
    config: Config,
    client: PostgresClient,
    logger: Logger,
    metrics: HammerMetrics = HammerMetrics(),
    services: [any Service] = []
) -> some ApplicationProtocol {
    let store = Store(client: client, logger: logger)
    let publisher = PublishBatcher(store: store, metrics: metrics, keyTTL: config.idempotencyTTL)
    let router = buildRouter(config: config, store: store, publisher: publisher, metrics: metrics)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(config.httpHost, port: config.httpPort), serverName: nil),
        services: [client, publisher] + services,
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
    HealthController(store: Store(client: client, logger: logger), metrics: metrics).addRoutes(to: router)
    routes.set(router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(config.httpHost, port: config.healthCheckPort), serverName: nil),
        logger: logger
    )
}

/// The router: health checks open, `/v1` behind the API keys when any are set, JSON errors everywhere.
func buildRouter(config: Config, store: Store, publisher: PublishBatcher, metrics: HammerMetrics) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    let routes = RouteTableBox()
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: ErrorMiddleware(routes: routes))
    HealthController(store: store, metrics: metrics).addRoutes(to: router)

    let v1 = router.group("v1")
    if !config.apiKeys.isEmpty {
        v1.add(middleware: AuthMiddleware(keys: config.apiKeys))
    }
    let listQuery = ListQuery(defaultLimit: config.defaultPaginationLimit, maxLimit: config.maxPaginationLimit)
    TopicController(store: store, maxBodyBytes: config.maxMessageBytes, listQuery: listQuery).addRoutes(to: v1)
    SubscriptionController(
        store: store,
        maxBodyBytes: config.maxMessageBytes,
        listQuery: listQuery,
        allowPrivateTargets: config.allowPrivateTargets,
        sender: WebhookSender(maxResponseBodyBytes: config.maxResponseBodyBytes, allowPrivateTargets: config.allowPrivateTargets)
    ).addRoutes(to: v1)
    MessageController(
        store: store,
        publisher: publisher,
        maxBodyBytes: config.maxMessageBytes,
        maxBatchBytes: config.maxBatchBytes,
        listQuery: listQuery,
        authenticated: !config.apiKeys.isEmpty
    ).addRoutes(to: v1)
    DeliveryController(store: store, listQuery: listQuery).addRoutes(to: v1)
    CallbackController(store: store, listQuery: listQuery).addRoutes(to: v1)
    routes.set(router)
    return router
}
