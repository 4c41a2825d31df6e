/// The operations' inputs as REST request bodies give them; a value of the wrong JSON type is a reading error.
extension TopicInput {
    init(_ body: RequestBody) {
        var reader = FieldReader(body)
        let id = reader.string("id")
        let name = reader.string("name")
        self.init(id: id, name: name, readingErrors: reader.errors)
    }
}

extension MessageInput {
    init(_ body: RequestBody) {
        self.init(fields: body.fields)
    }

    init(fields: [String: JSONValue]) {
        var reader = FieldReader(fields: fields)
        let topicID = reader.string("topic_id")
        let contentType = reader.string("content_type")
        let data = reader.string("data")
        let eventType = reader.string("event_type")
        self.init(topicID: topicID, data: data, contentType: contentType, eventType: eventType, readingErrors: reader.errors)
    }
}

extension BatchInput {
    init(_ body: RequestBody) {
        switch body.fields["messages"] {
        case .array(let items)?:
            self.init(
                items: items.map { item in
                    guard case .object(let fields) = item else { return .unreadable("must be an object, got \(item.typeName)") }
                    return .message(MessageInput(fields: fields))
                }
            )
        case nil, .null?:
            self.init(items: nil)
        case let other?:
            self.init(items: nil, readingErrors: [.init("messages", "must be an array, got \(other.typeName)")])
        }
    }
}

extension SecretRotationInput {
    init(_ body: RequestBody) {
        var reader = FieldReader(body)
        let secret = reader.string("secret_token")
        let gracePeriod = reader.integer("grace_period")
        self.init(secretToken: secret, gracePeriod: gracePeriod, readingErrors: reader.errors)
    }
}

extension SubscriptionInput {
    init(_ body: RequestBody) {
        var reader = FieldReader(body)
        self.init()
        id = reader.string("id")
        topicID = reader.string("topic_id")
        name = reader.string("name")
        url = reader.string("url")
        secretToken = reader.string("secret_token")
        maxDeliveryAttempts = reader.integer("max_delivery_attempts")
        deliveryAttemptDelay = reader.integer("delivery_attempt_delay")
        deliveryAttemptTimeout = reader.integer("delivery_attempt_timeout")
        httpMethod = reader.resettable("http_method") { $0.string($1) }
        headers = reader.resettable("headers") { $0.stringMap($1) }
        auth = reader.resettable("auth") { Self.auth(&$0, $1) }
        payloadFormat = reader.resettable("payload_format") { $0.string($1) }
        payloadTemplate = reader.resettable("payload_template") { $0.string($1) }
        payloadContentType = reader.resettable("payload_content_type") { $0.string($1) }
        maxInFlight = reader.resettable("max_in_flight") { $0.integer($1) }
        rateLimit = reader.resettable("rate_limit") { $0.integer($1) }
        ordered = reader.resettable("ordered") { $0.bool($1) }
        callbackURL = reader.resettable("callback_url") { $0.string($1) }
        callbackEvents = reader.resettable("callback_events") { $0.stringArray($1) }
        eventTypes = reader.resettable("event_types") { $0.stringArray($1) }
        readingErrors = reader.errors
    }

    /// `{"type": "bearer", "token": …}` or `{"type": "basic", "username": …, "password": …}`: the fields of its
    /// type only; `nil` for null.
    private static func auth(_ reader: inout FieldReader, _ name: String) -> Auth? {
        guard let object = reader.object(name) else { return nil }
        var inner = FieldReader(fields: object)
        var auth = Auth(type: inner.string("type"))
        switch auth.type {
        case "bearer": auth.token = inner.string("token")
        case "basic": (auth.username, auth.password) = (inner.string("username"), inner.string("password"))
        default: break
        }
        for error in inner.errors { reader.fail("\(name).\(error.field)", error.description) }
        return auth
    }
}
