/// Reading a subscription's fields from a request body, with every rule they follow.
extension SubscriptionController {
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
            if !creating, secret.isEmpty {
                reader.fail("secret_token", "must not be empty; omit it to keep the current secret")
            } else {
                checkSecret(secret, in: &reader)
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
        readOptions(&reader, into: &fields)
        return fields
    }

    /// A secret given on create, PATCH or rotation: `whsec_` + base64 key bytes, or any other text up to 1 KiB.
    static func checkSecret(_ secret: String?, in reader: inout FieldReader) {
        guard let secret else { return }
        if secret.hasPrefix(SecretToken.prefix), SecretToken.keyBytes(secret)?.isEmpty ?? true {
            reader.fail("secret_token", "must be whsec_ followed by base64 key bytes, or a secret without that prefix")
        } else if secret.utf8.count > 1024 {
            reader.fail("secret_token", "must be at most 1024 bytes")
        }
    }

    /// Reads the delivery options ; `null` sets an option back to its default. Checks everything but the
    /// payload, which needs the other payload fields (`DeliveryOptions.payloadErrors`).
    static func readOptions(_ reader: inout FieldReader, into fields: inout SubscriptionFields) {
        let defaults = DeliveryOptions()
        fields.httpMethod = reader.choice("http_method", default: defaults.httpMethod)
        if reader.has("headers") {
            let headers = reader.stringMap("headers") ?? [:]
            for error in DeliveryOptions.headerErrors(headers) { reader.fail(error.field, error.description) }
            fields.headers = headers
        }
        if reader.has("auth") {
            fields.auth = .some(readAuth(&reader))
        }
        fields.payloadFormat = reader.choice("payload_format", default: defaults.payloadFormat)
        if reader.has("payload_template") {
            fields.payloadTemplate = .some(reader.string("payload_template"))
        }
        if reader.has("payload_content_type") {
            fields.payloadContentType = reader.string("payload_content_type") ?? defaults.payloadContentType
        }
        if reader.has("max_in_flight") {
            let value = reader.integer("max_in_flight")
            if let value, !(1...DeliveryLimits.maxMaxInFlight).contains(value) {
                reader.fail("max_in_flight", "must be between 1 and \(DeliveryLimits.maxMaxInFlight), or null for the worker's default")
            }
            fields.maxInFlight = .some(value)
        }
        if reader.has("rate_limit") {
            let value = reader.integer("rate_limit")
            if let value, !(1...DeliveryLimits.maxRateLimit).contains(value) {
                reader.fail("rate_limit", "must be between 1 and \(DeliveryLimits.maxRateLimit) attempts per second, or null for none")
            }
            fields.rateLimit = .some(value)
        }
        if reader.has("ordered") { fields.ordered = reader.bool("ordered") ?? false }
        if reader.has("callback_url") {
            let url = reader.string("callback_url")
            if let url, !Validation.isValidWebhookURL(url) {
                reader.fail("callback_url", "must be an absolute http or https URL with a host, or null for none")
            }
            fields.callbackURL = .some(url)
        }
        if reader.has("callback_events") {
            var events: [Callback.EventType] = []
            for (index, name) in (reader.stringArray("callback_events") ?? Callback.defaultEvents.map(\.rawValue)).enumerated() {
                if let event = Callback.EventType(rawValue: name) {
                    if !events.contains(event) { events.append(event) }
                } else {
                    reader.fail("callback_events[\(index)]", "must be delivery.failed, delivery.completed or subscription.disabled")
                }
            }
            fields.callbackEvents = events
        }
        if reader.has("event_types") {
            let filters = reader.stringArray("event_types") ?? []
            if filters.count > EventType.maxFilters {
                reader.fail("event_types", "must have at most \(EventType.maxFilters) entries, got \(filters.count)")
            }
            for (index, filter) in filters.enumerated() where !EventType.isValidFilter(filter) {
                reader.fail("event_types[\(index)]", EventType.filterRule)
            }
            var seen: Set<String> = []
            fields.eventTypes = filters.filter { seen.insert($0).inserted }
        }
    }

    /// `{"type": "bearer", "token": …}` or `{"type": "basic", "username": …, "password": …}`; `nil` for `null`.
    private static func readAuth(_ reader: inout FieldReader) -> TargetAuth? {
        guard let object = reader.object("auth") else { return nil }
        var inner = FieldReader(fields: object)
        var auth: TargetAuth?
        switch inner.string("type") {
        case "bearer":
            if let token = inner.string("token") {
                auth = .bearer(token: token)
            } else if !inner.hasError("token") {
                inner.fail("token", "is required for bearer auth")
            }
        case "basic":
            let username = inner.string("username")
            let password = inner.string("password")
            if username == nil, !inner.hasError("username") { inner.fail("username", "is required for basic auth") }
            if password == nil, !inner.hasError("password") { inner.fail("password", "is required for basic auth (it may be empty)") }
            if let username, let password { auth = .basic(username: username, password: password) }
        default:
            if !inner.hasError("type") { inner.fail("type", "must be bearer or basic") }
        }
        for error in inner.errors { reader.fail("auth." + error.field, error.description) }
        if let auth { for error in DeliveryOptions.authErrors(auth) { reader.fail(error.field, error.description) } }
        return auth
    }
}
