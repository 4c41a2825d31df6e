/// The resource controllers: REST routes over the operations, which the gRPC service calls as well.
struct ResourceControllers: Sendable {
    let topics: TopicController
    let subscriptions: SubscriptionController
    let messages: MessageController
    let deliveries: DeliveryController
    let callbacks: CallbackController
    let listQuery: ListQuery

    init(config: Config, store: Store, publisher: PublishBatcher) {
        let listQuery = ListQuery(defaultLimit: config.defaultPaginationLimit, maxLimit: config.maxPaginationLimit)
        self.listQuery = listQuery
        topics = TopicController(store: store, maxBodyBytes: config.maxMessageBytes, listQuery: listQuery)
        subscriptions = SubscriptionController(
            store: store,
            maxBodyBytes: config.maxMessageBytes,
            listQuery: listQuery,
            allowPrivateTargets: config.allowPrivateTargets,
            sender: WebhookSender(config: config)
        )
        messages = MessageController(
            store: store,
            publisher: publisher,
            maxBodyBytes: config.maxMessageBytes,
            maxBatchBytes: config.maxBatchBytes,
            listQuery: listQuery,
            authenticated: !config.apiKeys.isEmpty
        )
        deliveries = DeliveryController(store: store, listQuery: listQuery)
        callbacks = CallbackController(store: store, listQuery: listQuery)
    }
}
