/// Subscriptions: webhook endpoints of a topic with their retry settings and delivery options.
public struct SubscriptionOperations: Sendable {
    let store: Store
    /// `HAMMER_ALLOW_PRIVATE_TARGETS`: URLs may resolve to private destinations.
    let allowPrivateTargets: Bool
    /// Sends test events.
    let sender: WebhookSender

    public init(store: Store, allowPrivateTargets: Bool, sender: WebhookSender) {
        self.store = store
        self.allowPrivateTargets = allowPrivateTargets
        self.sender = sender
    }

    /// The equality filters of a subscription list.
    static let listFilters = ["topic_id"]
    static let defaultGracePeriod = 86_400
    static let maxGracePeriod = 604_800

    /// Creates a subscription; every field but `secret_token` (generated when absent) and the delivery options is
    /// required.
    func create(_ input: SubscriptionInput) async throws -> Subscription {
        var check = FieldCheck(order: Self.fieldOrder, reading: input.readingErrors)
        let id = check.text(input.id, field: "id")
        check.requireID(id, field: "id")
        var fields = Self.fields(input, creating: true, check: &check)
        await checkTarget(fields.url, field: "url", in: &check)
        await checkTarget(fields.callbackURL ?? nil, field: "callback_url", in: &check)
        if let id, let topicID = fields.topicID {
            for error in fields.options(over: DeliveryOptions()).payloadErrors(topicID: topicID, subscriptionID: id) {
                check.fail(error.field, error.description)
            }
        }
        try check.check("subscription")
        guard let id else { throw HammerError.internalError }
        if fields.secretToken == nil || fields.secretToken?.isEmpty == true {
            fields.secretToken = SecretToken.generate()
        }
        return try await store.createSubscription(id: id, fields)
    }

    /// Sets the fields given and keeps the others; null sets an option back to its default.
    func update(id: String, _ input: SubscriptionInput) async throws -> Subscription {
        var check = FieldCheck(order: Self.fieldOrder, reading: input.readingErrors)
        let fields = Self.fields(input, creating: false, check: &check)
        await checkTarget(fields.url, field: "url", in: &check)
        await checkTarget(fields.callbackURL ?? nil, field: "callback_url", in: &check)
        if fields.payloadFormat != nil || fields.payloadTemplate != nil || fields.payloadContentType != nil {
            // The payload is checked as it will be: these fields over the stored ones.
            let current = try await store.subscription(id: id)
            let options = fields.options(over: current.options)
            for error in options.payloadErrors(topicID: fields.topicID ?? current.topicID, subscriptionID: id) {
                check.fail(error.field, error.description)
            }
        }
        try check.check("subscription")
        return try await store.updateSubscription(id: id, fields)
    }

    /// Replaces the signing secret (generated when absent); the old one keeps signing beside it for the grace period
    /// (default a day), so receivers can switch without losing a request.
    func rotateSecret(id: String, _ input: SecretRotationInput) async throws -> Subscription {
        var check = FieldCheck(order: ["secret_token", "grace_period"], reading: input.readingErrors)
        let secret = check.text(input.secretToken, field: "secret_token")
        let grace = input.gracePeriod ?? Self.defaultGracePeriod
        Self.checkSecret(secret, in: &check)
        if !check.hasError("grace_period"), !(0...Self.maxGracePeriod).contains(grace) {
            check.fail("grace_period", "must be between 0 and \(Self.maxGracePeriod) seconds, got \(grace)")
        }
        try check.check("subscription")
        let newSecret = secret.flatMap { $0.isEmpty ? nil : $0 } ?? SecretToken.generate()
        return try await store.rotateSecret(id: id, secret: newSecret, gracePeriod: .seconds(grace))
    }

    /// Sends a signed test event to the subscription now, outside the queue, and answers with the attempt.
    public func test(id: String) async throws -> SubscriptionTest {
        await SubscriptionTest.run(try await store.subscription(id: id), sender: sender)
    }

    /// Stops sending to the subscription; its deliveries wait pending (also when it already was disabled).
    public func disable(id: String) async throws -> Subscription {
        try await store.disableSubscription(id: id, reason: Subscription.disabledByHand)
    }

    /// Sends to the subscription again; its pending deliveries are due at once.
    public func enable(id: String) async throws -> Subscription { try await store.enableSubscription(id: id) }

    func subscription(id: String) async throws -> Subscription { try await store.subscription(id: id) }

    func subscriptions(_ filter: ListFilter) async throws -> [Subscription] { try await store.subscriptions(filter) }

    /// How each subscription's endpoint is doing, by id.
    func health(ids: [String]) async throws -> [String: SubscriptionHealth] { try await store.subscriptionHealth(ids: ids) }

    func delete(id: String) async throws { try await store.deleteSubscription(id: id) }

    /// Refuses URLs that resolve to private destinations unless they are allowed; a host that does not resolve now
    /// is accepted and checked again at every send.
    private func checkTarget(_ url: String?, field: String, in check: inout FieldCheck) async {
        guard !allowPrivateTargets, let url, !check.hasError(field), let reason = await TargetAddress.refusalAtCreate(for: url) else { return }
        check.fail(field, reason)
    }
}
