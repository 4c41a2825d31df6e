/// A subscription's fields from its input, with every rule they follow.
extension SubscriptionOperations {
    /// The fields in the order their errors are answered.
    static let fieldOrder = [
        "id", "topic_id", "name", "url", "secret_token", "max_delivery_attempts", "delivery_attempt_delay", "delivery_attempt_timeout",
        "http_method", "headers", "auth", "payload_format", "payload_template", "payload_content_type", "max_in_flight", "rate_limit",
        "ordered", "callback_url", "callback_events", "event_types",
    ]

    /// Checks the mutable fields; on create every field but `secret_token` and the delivery options is required.
    static func fields(_ input: SubscriptionInput, creating: Bool, check: inout FieldCheck) -> SubscriptionFields {
        var fields = SubscriptionFields()
        fields.topicID = check.text(input.topicID, field: "topic_id")
        fields.name = check.text(input.name, field: "name")
        fields.url = check.text(input.url, field: "url")
        fields.secretToken = check.text(input.secretToken, field: "secret_token")
        fields.maxDeliveryAttempts = input.maxDeliveryAttempts
        fields.deliveryAttemptDelay = input.deliveryAttemptDelay
        fields.deliveryAttemptTimeout = input.deliveryAttemptTimeout

        if creating || fields.topicID != nil { check.requireID(fields.topicID, field: "topic_id") }
        if creating || fields.name != nil { check.requireText(fields.name, field: "name") }
        if let url = fields.url {
            if !Validation.isValidWebhookURL(url) { check.fail("url", "must be an absolute http or https URL with a host") }
        } else if creating, !check.hasError("url") {
            check.fail("url", "is required")
        }
        if let secret = fields.secretToken {
            if !creating, secret.isEmpty {
                check.fail("secret_token", "must not be empty; omit it to keep the current secret")
            } else {
                checkSecret(secret, in: &check)
            }
        }
        let limits: [(String, Int?, ClosedRange<Int>)] = [
            ("max_delivery_attempts", fields.maxDeliveryAttempts, 1...100),
            ("delivery_attempt_delay", fields.deliveryAttemptDelay, 1...Int(Int32.max)),
            ("delivery_attempt_timeout", fields.deliveryAttemptTimeout, 1...Subscription.maxDeliveryAttemptTimeout),
        ]
        for (name, value, range) in limits {
            if let value {
                if !range.contains(value) { check.fail(name, "must be between \(range.lowerBound) and \(range.upperBound), got \(value)") }
            } else if creating, !check.hasError(name) {
                check.fail(name, "is required")
            }
        }
        options(input, into: &fields, check: &check)
        return fields
    }

    /// A secret given on create, update or rotation: `whsec_` + base64 key bytes, or any other text up to 1 KiB.
    static func checkSecret(_ secret: String?, in check: inout FieldCheck) {
        guard let secret else { return }
        if secret.hasPrefix(SecretToken.prefix), SecretToken.keyBytes(secret)?.isEmpty ?? true {
            check.fail("secret_token", "must be whsec_ followed by base64 key bytes, or a secret without that prefix")
        } else if secret.utf8.count > 1024 {
            check.fail("secret_token", "must be at most 1024 bytes")
        }
    }

    /// The delivery options; null sets an option back to its default. Checks everything but the payload, which needs
    /// the other payload fields (`DeliveryOptions.payloadErrors`).
    private static func options(_ input: SubscriptionInput, into fields: inout SubscriptionFields, check: inout FieldCheck) {
        let defaults = DeliveryOptions()
        fields.httpMethod = choice(input.httpMethod, field: "http_method", default: defaults.httpMethod, check: &check)
        if let headers = input.headers {
            let headers = headers ?? [:]
            for error in DeliveryOptions.headerErrors(headers) { check.fail(error.field, error.description) }
            fields.headers = headers
        }
        if let auth = input.auth {
            fields.auth = .some(auth.flatMap { Self.auth($0, check: &check) })
        }
        fields.payloadFormat = choice(input.payloadFormat, field: "payload_format", default: defaults.payloadFormat, check: &check)
        if let template = input.payloadTemplate {
            fields.payloadTemplate = .some(check.text(template, field: "payload_template"))
        }
        if let contentType = input.payloadContentType {
            fields.payloadContentType = check.text(contentType, field: "payload_content_type") ?? defaults.payloadContentType
        }
        if let value = input.maxInFlight {
            if let value, !(1...DeliveryLimits.maxMaxInFlight).contains(value) {
                check.fail("max_in_flight", "must be between 1 and \(DeliveryLimits.maxMaxInFlight), or null for the worker's default")
            }
            fields.maxInFlight = .some(value)
        }
        if let value = input.rateLimit {
            if let value, !(1...DeliveryLimits.maxRateLimit).contains(value) {
                check.fail("rate_limit", "must be between 1 and \(DeliveryLimits.maxRateLimit) attempts per second, or null for none")
            }
            fields.rateLimit = .some(value)
        }
        if let ordered = input.ordered { fields.ordered = ordered ?? false }
        if let url = input.callbackURL {
            let url = check.text(url, field: "callback_url")
            if let url, !Validation.isValidWebhookURL(url) {
                check.fail("callback_url", "must be an absolute http or https URL with a host, or null for none")
            }
            fields.callbackURL = .some(url)
        }
        if let names = input.callbackEvents {
            var events: [Callback.EventType] = []
            for (index, name) in (names ?? Callback.defaultEvents.map(\.rawValue)).enumerated() {
                if let event = Callback.EventType(rawValue: name) {
                    if !events.contains(event) { events.append(event) }
                } else {
                    check.fail("callback_events[\(index)]", "must be delivery.failed, delivery.completed or subscription.disabled")
                }
            }
            fields.callbackEvents = events
        }
        if let filters = input.eventTypes {
            let filters = filters ?? []
            if filters.count > EventType.maxFilters {
                check.fail("event_types", "must have at most \(EventType.maxFilters) entries, got \(filters.count)")
            }
            for (index, filter) in filters.enumerated() where !EventType.isValidFilter(filter) {
                check.fail("event_types[\(index)]", EventType.filterRule)
            }
            var seen: Set<String> = []
            fields.eventTypes = filters.filter { seen.insert($0).inserted }
        }
    }

    /// One of `Choice`'s raw values: `nil` when not given, `defaultValue` when null. Records an error naming the choices.
    private static func choice<Choice: RawRepresentable & CaseIterable>(
        _ given: String??,
        field: String,
        default defaultValue: Choice,
        check: inout FieldCheck
    ) -> Choice? where Choice.RawValue == String {
        guard let given else { return nil }
        guard let text = check.text(given, field: field) else { return defaultValue }
        if let value = Choice(rawValue: text) { return value }
        let names = Choice.allCases.map(\.rawValue)
        check.fail(field, "must be \(names.dropLast().joined(separator: ", ")) or \(names.last ?? "")")
        return nil
    }

    /// A bearer `token`, or a basic `username` and `password`.
    private static func auth(_ input: SubscriptionInput.Auth, check: inout FieldCheck) -> TargetAuth? {
        var auth: TargetAuth?
        switch check.text(input.type, field: "auth.type") {
        case "bearer":
            if let token = check.text(input.token, field: "auth.token") {
                auth = .bearer(token: token)
            } else if !check.hasError("auth.token") {
                check.fail("auth.token", "is required for bearer auth")
            }
        case "basic":
            let username = check.text(input.username, field: "auth.username")
            let password = check.text(input.password, field: "auth.password")
            if username == nil, !check.hasError("auth.username") { check.fail("auth.username", "is required for basic auth") }
            if password == nil, !check.hasError("auth.password") { check.fail("auth.password", "is required for basic auth (it may be empty)") }
            if let username, let password { auth = .basic(username: username, password: password) }
        default:
            if !check.hasError("auth.type") { check.fail("auth.type", "must be bearer or basic") }
        }
        if let auth { for error in DeliveryOptions.authErrors(auth) { check.fail(error.field, error.description) } }
        return auth
    }
}
