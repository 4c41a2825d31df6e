import Logging
import PostgresNIO
import ServiceLifecycle

/// The services of a worker process after its `PostgresClient`: the health and metrics server on
/// `HAMMER_HEALTH_CHECK_PORT` (unless `healthServer` is false, as in `hammer all`, whose API serves both), the
/// database's upkeep (`StorageMaintenance`) and the `DeliveryWorker`, whose end ends the group. Used by `hammer worker`, `hammer all` and the tests.
public func buildWorker(
    config: Config,
    client: PostgresClient,
    logger: Logger,
    metrics: HammerMetrics = HammerMetrics(),
    healthServer: Bool = true,
    sender: WebhookSender? = nil,
    leaseMargin: Duration = DeliveryWorker.defaultLeaseMargin,
    schemaCheckInterval: Duration = DeliveryWorker.defaultSchemaCheckInterval
) -> [ServiceGroupConfiguration.ServiceConfiguration] {
    let worker = DeliveryWorker(
        settings: DeliveryWorker.Settings(config: config),
        queue: DeliveryQueue(client: client, logger: logger),
        sender: sender ?? WebhookSender(config: config),
        logger: logger,
        metrics: metrics,
        leaseMargin: leaseMargin,
        schemaCheckInterval: schemaCheckInterval
    )
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
    if healthServer {
        services.append(.init(service: buildWorkerHealthApplication(config: config, client: client, logger: logger, metrics: metrics)))
    }
    services.append(
        .init(service: StorageMaintenance(store: Store(client: client, logger: logger), partitioning: config.partitioning, logger: logger))
    )
    services.append(
        .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
    )
    return services
}

extension WebhookSender {
    /// The sender `config` describes: its response cap, its cap on rendered bodies (twice `HAMMER_MAX_MESSAGE_BYTES`)
    /// and whether private targets are allowed.
    public convenience init(config: Config) {
        self.init(
            maxResponseBodyBytes: config.maxResponseBodyBytes,
            maxRequestBodyBytes: 2 * config.maxMessageBytes,
            allowPrivateTargets: config.allowPrivateTargets
        )
    }
}

extension DeliveryWorker.Settings {
    /// The settings `config` describes: the `HAMMER_WORKER_*` variables, the retry ceiling and auto-disable.
    public init(config: Config) {
        self.init(
            concurrency: config.workerConcurrency,
            subscriptionMaxInFlight: config.subscriptionMaxInFlight,
            batchSize: config.workerBatchSize,
            pollInterval: config.workerPollInterval,
            shutdownTimeout: config.workerShutdownTimeout,
            maxRetryDelay: config.maxRetryDelay,
            autoDisable: config.autoDisable
        )
    }
}
