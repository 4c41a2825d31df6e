import Hummingbird

/// `/v1/subscriptions`: webhook endpoints of a topic with their retry settings.
struct SubscriptionController {
    let store: Store
    let maxBodyBytes: Int
    let listQuery: ListQuery
    let allowPrivateTargets: Bool
    /// Sends the test events of `POST /v1/subscriptions/{id}/test`.
    let sender: WebhookSender

    /// The equality filters of a subscription list.
    static let listFilters = ["topic_id"]

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.post("subscriptions", use: create)
        group.get("subscriptions", use: list)
        group.get("subscriptions/:id", use: get)
        group.patch("subscriptions/:id", use: update)
        group.delete("subscriptions/:id", use: delete)
        group.post("subscriptions/:id/test", use: test)
        group.post("subscriptions/:id/rotate-secret", use: rotateSecret)
        group.post("subscriptions/:id/disable", use: disable)
        group.post("subscriptions/:id/enable", use: enable)
    }

    /// Stops sending to the subscription; its deliveries wait `pending` (200 also when it already was disabled).
    @Sendable func disable(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        return try JSONResponse.make(try await store.disableSubscription(id: id, reason: Subscription.disabledByHand))
    }

    /// Sends to the subscription again; its pending deliveries are due at once.
    @Sendable func enable(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await store.enableSubscription(id: try context.parameters.require("id")))
    }

    @Sendable func create(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await create(try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "subscription")))
    }

    @Sendable func update(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        return try JSONResponse.make(try await update(id: id, try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "subscription")))
    }

    /// Creates a subscription; every field but `secret_token` (generated when absent) and the delivery options is
    /// required (REST and gRPC).
    func create(_ body: RequestBody) async throws -> Subscription {
        var reader = FieldReader(body)
        let id = reader.string("id")
        Validation.requireID(id, field: "id", in: &reader)
        var fields = Self.readFields(&reader, creating: true)
        await checkTarget(fields.url, field: "url", in: &reader)
        await checkTarget(fields.callbackURL ?? nil, field: "callback_url", in: &reader)
        if let id, let topicID = fields.topicID {
            for error in fields.options(over: DeliveryOptions()).payloadErrors(topicID: topicID, subscriptionID: id) {
                reader.fail(error.field, error.description)
            }
        }
        try reader.check("subscription")
        if fields.secretToken == nil || fields.secretToken?.isEmpty == true {
            fields.secretToken = SecretToken.generate()
        }
        return try await store.createSubscription(id: id!, fields)
    }

    /// Sets the fields given and keeps the others; `null` sets an option back to its default (REST and gRPC).
    func update(id: String, _ body: RequestBody) async throws -> Subscription {
        var reader = FieldReader(body)
        let fields = Self.readFields(&reader, creating: false)
        await checkTarget(fields.url, field: "url", in: &reader)
        await checkTarget(fields.callbackURL ?? nil, field: "callback_url", in: &reader)
        if fields.payloadFormat != nil || fields.payloadTemplate != nil || fields.payloadContentType != nil {
            // The payload is checked as it will be: these fields over the stored ones.
            let current = try await store.subscription(id: id)
            let options = fields.options(over: current.options)
            for error in options.payloadErrors(topicID: fields.topicID ?? current.topicID, subscriptionID: id) {
                reader.fail(error.field, error.description)
            }
        }
        try reader.check("subscription")
        return try await store.updateSubscription(id: id, fields)
    }

    @Sendable func get(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await store.subscription(id: try context.parameters.require("id")))
    }

    @Sendable func list(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.list("subscriptions", try await store.subscriptions(try listQuery.filter(request, filters: Self.listFilters)))
    }

    @Sendable func delete(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await store.deleteSubscription(id: try context.parameters.require("id"))
        return JSONResponse.empty()
    }

    /// Sends a signed test event to the subscription now and answers with the attempt (200 whatever the receiver said).
    @Sendable func test(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let subscription = try await store.subscription(id: try context.parameters.require("id"))
        return try JSONResponse.make(
            await SubscriptionTest.run(subscription, sender: sender)
        )
    }

    /// Replaces the signing secret (`secret_token`, generated when absent); the old one keeps signing beside it for
    /// `grace_period` seconds (default a day), so receivers can switch without losing a request.
    @Sendable func rotateSecret(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        var reader = FieldReader(try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "subscription", emptyAllowed: true))
        let secret = reader.string("secret_token")
        let grace = reader.integer("grace_period") ?? Self.defaultGracePeriod
        Self.checkSecret(secret, in: &reader)
        if !reader.hasError("grace_period"), !(0...Self.maxGracePeriod).contains(grace) {
            reader.fail("grace_period", "must be between 0 and \(Self.maxGracePeriod) seconds, got \(grace)")
        }
        try reader.check("subscription")
        let newSecret = secret.flatMap { $0.isEmpty ? nil : $0 } ?? SecretToken.generate()
        return try JSONResponse.make(try await store.rotateSecret(id: id, secret: newSecret, gracePeriod: .seconds(grace)))
    }

    static let defaultGracePeriod = 86_400
    static let maxGracePeriod = 604_800

    /// Refuses URLs that resolve to private destinations unless `HAMMER_ALLOW_PRIVATE_TARGETS` is set; a host that
    /// does not resolve now is accepted and checked again at every send.
    private func checkTarget(_ url: String?, field: String, in reader: inout FieldReader) async {
        guard !allowPrivateTargets, let url, !reader.hasError(field), let reason = await TargetAddress.refusalAtCreate(for: url) else { return }
        reader.fail(field, reason)
    }
}
