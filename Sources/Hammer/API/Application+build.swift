import Hummingbird
import Logging
import PostgresNIO

/// Builds the REST API application on `client`; the caller runs the client as a service.
public func buildApplication(config: Config, client: PostgresClient, logger: Logger) -> some ApplicationProtocol {
    let store = Store(client: client, logger: logger)
    let router = buildRouter(config: config, store: store)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(config.httpHost, port: config.httpPort), serverName: nil),
        services: [PostgresClientService(client: client)],
        logger: logger)
    app.beforeServerStarts {
        try await Migrator(client: client, logger: logger).requireCurrentSchema()
    }
    return app
}

/// The router: health checks open, `/v1` behind the API keys when any are set, JSON errors everywhere.
func buildRouter(config: Config, store: Store) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: ErrorMiddleware())
    HealthController(store: store).addRoutes(to: router)

    let v1 = router.group("v1")
    if !config.apiKeys.isEmpty {
        v1.add(middleware: AuthMiddleware(keys: config.apiKeys))
    }
    let listQuery = ListQuery(defaultLimit: config.defaultPaginationLimit, maxLimit: config.maxPaginationLimit)
    TopicController(store: store, maxBodyBytes: config.maxMessageBytes, listQuery: listQuery).addRoutes(to: v1)
    SubscriptionController(store: store, maxBodyBytes: config.maxMessageBytes, listQuery: listQuery).addRoutes(to: v1)
    MessageController(store: store, maxBodyBytes: config.maxMessageBytes, listQuery: listQuery).addRoutes(to: v1)
    DeliveryController(store: store, listQuery: listQuery).addRoutes(to: v1)
    return router
}
