import SwiftProtobuf

/// gRPC requests as the operations' inputs, so both front ends check the same rules and name the same fields in their
/// errors. A zero value (`""`, `0`, `false`, empty, unset) is a field not given, as proto3 cannot tell them apart; an
/// update's `update_mask` lists fields to set even to zero, which clears or resets them.
enum ProtoInputs {
    /// `id` and `name`.
    static func topic(_ topic: Hammer_V1_Topic, mask: Google_Protobuf_FieldMask? = nil) throws -> TopicInput {
        let given = try givenFields(
            mask,
            writable: ["id", "name"],
            setFields: [topic.id.isEmpty ? nil : "id", topic.name.isEmpty ? nil : "name"],
            readOnly: ["created_at", "updated_at"],
            resource: "topic"
        )
        return TopicInput(id: given.contains("id") ? topic.id : nil, name: given.contains("name") ? topic.name : nil)
    }

    /// Every writable field of a subscription.
    static func subscription(_ subscription: Hammer_V1_Subscription, mask: Google_Protobuf_FieldMask? = nil) throws -> SubscriptionInput {
        let s = subscription
        let setFields: [String?] = [
            s.id.isEmpty ? nil : "id", s.topicID.isEmpty ? nil : "topic_id", s.name.isEmpty ? nil : "name", s.url.isEmpty ? nil : "url",
            s.secretToken.isEmpty ? nil : "secret_token", s.maxDeliveryAttempts == 0 ? nil : "max_delivery_attempts",
            s.deliveryAttemptDelay == 0 ? nil : "delivery_attempt_delay", s.deliveryAttemptTimeout == 0 ? nil : "delivery_attempt_timeout",
            s.httpMethod.isEmpty ? nil : "http_method", s.headers.isEmpty ? nil : "headers", s.hasAuth ? "auth" : nil,
            s.payloadFormat.isEmpty ? nil : "payload_format", s.hasPayloadTemplate ? "payload_template" : nil,
            s.payloadContentType.isEmpty ? nil : "payload_content_type", s.eventTypes.isEmpty ? nil : "event_types",
            s.hasMaxInFlight ? "max_in_flight" : nil, s.hasRateLimit ? "rate_limit" : nil, s.ordered ? "ordered" : nil,
            s.hasCallbackURL ? "callback_url" : nil, s.callbackEvents.isEmpty ? nil : "callback_events",
        ]
        let given = try givenFields(
            mask,
            writable: SubscriptionOperations.fieldOrder,
            setFields: setFields,
            readOnly: ["created_at", "updated_at", "previous_secret_expires_at", "status", "disabled_reason", "disabled_at"],
            resource: "subscription"
        )
        func field<Value>(_ name: String, _ value: Value) -> Value? { given.contains(name) ? value : nil }
        /// A resettable field: its value when set, null (the default, or none) when masked but zero.
        func resettable<Value>(_ name: String, isSet: Bool, _ value: Value) -> Value?? {
            given.contains(name) ? .some(isSet ? value : nil) : nil
        }
        var input = SubscriptionInput()
        input.id = field("id", s.id)
        input.topicID = field("topic_id", s.topicID)
        input.name = field("name", s.name)
        input.url = field("url", s.url)
        input.secretToken = field("secret_token", s.secretToken)
        input.maxDeliveryAttempts = field("max_delivery_attempts", Int(s.maxDeliveryAttempts))
        input.deliveryAttemptDelay = field("delivery_attempt_delay", Int(s.deliveryAttemptDelay))
        input.deliveryAttemptTimeout = field("delivery_attempt_timeout", Int(s.deliveryAttemptTimeout))
        input.httpMethod = resettable("http_method", isSet: !s.httpMethod.isEmpty, s.httpMethod)
        input.headers = field("headers", .some(s.headers))
        input.auth = resettable("auth", isSet: s.hasAuth, auth(s.auth))
        input.payloadFormat = resettable("payload_format", isSet: !s.payloadFormat.isEmpty, s.payloadFormat)
        input.payloadTemplate = resettable("payload_template", isSet: s.hasPayloadTemplate, s.payloadTemplate)
        input.payloadContentType = resettable("payload_content_type", isSet: !s.payloadContentType.isEmpty, s.payloadContentType)
        input.maxInFlight = resettable("max_in_flight", isSet: s.hasMaxInFlight, Int(s.maxInFlight))
        input.rateLimit = resettable("rate_limit", isSet: s.hasRateLimit, Int(s.rateLimit))
        input.ordered = field("ordered", .some(s.ordered))
        input.callbackURL = resettable("callback_url", isSet: s.hasCallbackURL, s.callbackURL)
        input.callbackEvents = field("callback_events", .some(s.callbackEvents))
        input.eventTypes = field("event_types", .some(s.eventTypes))
        return input
    }

    /// `topic_id`, `data`, `content_type`, `event_type`; the id is the server's.
    static func message(_ message: Hammer_V1_Message) -> MessageInput {
        func given(_ value: String) -> String? { value.isEmpty ? nil : value }
        return MessageInput(
            topicID: given(message.topicID),
            data: given(message.data),
            contentType: given(message.contentType),
            eventType: given(message.eventType)
        )
    }

    /// The fields a request gives: those set (non-zero) without a mask, else exactly the mask's paths, which must be
    /// writable fields.
    private static func givenFields(
        _ mask: Google_Protobuf_FieldMask?,
        writable: [String],
        setFields: [String?],
        readOnly: Set<String>,
        resource: String
    ) throws -> Set<String> {
        guard let mask, !mask.paths.isEmpty else { return Set(setFields.compactMap { $0 }) }
        var given: Set<String> = []
        var errors: [HammerError.FieldError] = []
        for (index, path) in mask.paths.enumerated() {
            if writable.contains(path), path != "id" {
                given.insert(path)
            } else if path == "id" || readOnly.contains(path) {
                errors.append(.init("update_mask.paths[\(index)]", "\"\(path)\" cannot be changed"))
            } else {
                errors.append(.init("update_mask.paths[\(index)]", "\"\(path)\" is not a field of \(resource)"))
            }
        }
        if !errors.isEmpty { throw HammerError.invalid(resource, errors) }
        return given
    }

    /// The fields REST's `auth` object has for the type: a bearer `token`, or basic `username` and `password`.
    private static func auth(_ auth: Hammer_V1_TargetAuth) -> SubscriptionInput.Auth {
        var input = SubscriptionInput.Auth(type: auth.type)
        switch auth.type {
        case "bearer": input.token = auth.token
        case "basic": (input.username, input.password) = (auth.username, auth.password)
        default: break
        }
        return input
    }
}
