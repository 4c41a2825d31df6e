/// Every operation of hammer's resources, built once and shared by the REST API, the gRPC API and the console.
struct ResourceOperations: Sendable {
    let topics: TopicOperations
    let subscriptions: SubscriptionOperations
    let messages: MessageOperations
    let deliveries: DeliveryOperations
    let callbacks: CallbackOperations
    let status: StatusOperations
    /// How list requests page: the default and the largest page.
    let listQuery: ListQuery

    init(store: Store, publisher: PublishBatcher, sender: WebhookSender, listQuery: ListQuery, allowPrivateTargets: Bool, authenticated: Bool) {
        topics = TopicOperations(store: store)
        subscriptions = SubscriptionOperations(store: store, allowPrivateTargets: allowPrivateTargets, sender: sender)
        messages = MessageOperations(store: store, publisher: publisher, authenticated: authenticated)
        deliveries = DeliveryOperations(store: store)
        callbacks = CallbackOperations(store: store)
        status = StatusOperations(store: store)
        self.listQuery = listQuery
    }
}
