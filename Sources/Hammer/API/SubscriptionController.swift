import Hummingbird

/// `/v1/subscriptions`: webhook endpoints of a topic with their retry settings.
struct SubscriptionController {
    let store: Store
    let maxBodyBytes: Int
    let listQuery: ListQuery
    let allowPrivateTargets: Bool
    /// Sends the test events of `POST /v1/subscriptions/{id}/test`.
    let sender: WebhookSender

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.post("subscriptions", use: create)
        group.get("subscriptions", use: list)
        group.get("subscriptions/:id", use: get)
        group.patch("subscriptions/:id", use: update)
        group.delete("subscriptions/:id", use: delete)
        group.post("subscriptions/:id/test", use: test)
    }

    @Sendable func create(_ request: Request, context: BasicRequestContext) async throws -> Response {
        var reader = FieldReader(try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "subscription"))
        let id = reader.string("id")
        Validation.requireID(id, field: "id", in: &reader)
        var fields = Self.readFields(&reader, creating: true)
        await checkTarget(fields.url, in: &reader)
        try reader.check("subscription")
        if fields.secretToken == nil || fields.secretToken?.isEmpty == true {
            fields.secretToken = SecretToken.generate()
        }
        return try JSONResponse.make(try await store.createSubscription(id: id!, fields))
    }

    @Sendable func update(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        var reader = FieldReader(try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "subscription"))
        let fields = Self.readFields(&reader, creating: false)
        await checkTarget(fields.url, in: &reader)
        try reader.check("subscription")
        return try JSONResponse.make(try await store.updateSubscription(id: id, fields))
    }

    @Sendable func get(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await store.subscription(id: try context.parameters.require("id")))
    }

    @Sendable func list(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.list("subscriptions", try await store.subscriptions(try listQuery.filter(request, filters: ["topic_id"])))
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

    /// Refuses URLs that resolve to private destinations unless `HAMMER_ALLOW_PRIVATE_TARGETS` is set; a host that
    /// does not resolve now is accepted and checked again at every send.
    private func checkTarget(_ url: String?, in reader: inout FieldReader) async {
        guard !allowPrivateTargets, let url, !reader.hasError("url"), let reason = await TargetAddress.refusalAtCreate(for: url) else { return }
        reader.fail("url", reason)
    }

    /// Reads and checks the mutable fields; on create every field but `secret_token` is required.
    static func readFields(_ reader: inout FieldReader, creating: Bool) -> SubscriptionFields {
        var fields = SubscriptionFields()
        fields.topicID = reader.string("topic_id")
        fields.name = reader.string("name")
        fields.url = reader.string("url")
        fields.secretToken = reader.string("secret_token")
        fields.maxDeliveryAttempts = reader.integer("max_delivery_attempts")
        fields.deliveryAttemptDelay = reader.integer("delivery_attempt_delay")
        fields.deliveryAttemptTimeout = reader.integer("delivery_attempt_timeout")

        if creating || fields.topicID != nil { Validation.requireID(fields.topicID, field: "topic_id", in: &reader) }
        if creating || fields.name != nil { Validation.requireText(fields.name, field: "name", in: &reader) }
        if let url = fields.url {
            if !Validation.isValidWebhookURL(url) { reader.fail("url", "must be an absolute http or https URL with a host") }
        } else if creating, !reader.hasError("url") {
            reader.fail("url", "is required")
        }
        if let secret = fields.secretToken {
            if secret.hasPrefix(SecretToken.prefix), SecretToken.keyBytes(secret)?.isEmpty ?? true {
                reader.fail("secret_token", "must be whsec_ followed by base64 key bytes, or a secret without that prefix")
            } else if !creating, secret.isEmpty {
                reader.fail("secret_token", "must not be empty; omit it to keep the current secret")
            } else if secret.utf8.count > 1024 {
                reader.fail("secret_token", "must be at most 1024 bytes")
            }
        }
        let limits: [(String, Int?, ClosedRange<Int>)] = [
            ("max_delivery_attempts", fields.maxDeliveryAttempts, 1...100),
            ("delivery_attempt_delay", fields.deliveryAttemptDelay, 1...Int(Int32.max)),
            ("delivery_attempt_timeout", fields.deliveryAttemptTimeout, 1...Subscription.maxDeliveryAttemptTimeout),
        ]
        for (name, value, range) in limits {
            if let value {
                if !range.contains(value) { reader.fail(name, "must be between \(range.lowerBound) and \(range.upperBound), got \(value)") }
            } else if creating, !reader.hasError(name) {
                reader.fail(name, "is required")
            }
        }
        return fields
    }
}
