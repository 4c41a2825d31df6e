import SwiftProtobuf

/// gRPC requests as the operations' inputs, so both front ends check the same rules and name the same fields in their
/// errors. A zero value (`""`, `0`, `false`, empty, unset) is a field not given, as proto3 cannot tell them apart; an
/// update's `update_mask` lists fields to set even to zero, which clears or resets them.
enum ProtoInputs {
    /// `id` and `name`.
    static func topic(_ topic: Hammer_V1_Topic, mask: Google_Protobuf_FieldMask? = nil) throws -> TopicInput {
        let given = try Given(mask, writable: ["id", "name"], readOnly: ["created_at", "updated_at"], resource: "topic")
        return TopicInput(
            id: given.field("id", isSet: !topic.id.isEmpty, topic.id),
            name: given.field("name", isSet: !topic.name.isEmpty, topic.name)
        )
    }

    /// Every writable field of a subscription.
    static func subscription(_ subscription: Hammer_V1_Subscription, mask: Google_Protobuf_FieldMask? = nil) throws -> SubscriptionInput {
        let s = subscription
        let given = try Given(
            mask,
            writable: SubscriptionOperations.fieldOrder,
            readOnly: ["created_at", "updated_at", "previous_secret_expires_at", "status", "disabled_reason", "disabled_at"],
            resource: "subscription"
        )
        var input = SubscriptionInput()
        input.id = given.field("id", isSet: !s.id.isEmpty, s.id)
        input.topicID = given.field("topic_id", isSet: !s.topicID.isEmpty, s.topicID)
        input.name = given.field("name", isSet: !s.name.isEmpty, s.name)
        input.url = given.field("url", isSet: !s.url.isEmpty, s.url)
        input.secretToken = given.field("secret_token", isSet: !s.secretToken.isEmpty, s.secretToken)
        input.maxDeliveryAttempts = given.field("max_delivery_attempts", isSet: s.maxDeliveryAttempts != 0, Int(s.maxDeliveryAttempts))
        input.deliveryAttemptDelay = given.field("delivery_attempt_delay", isSet: s.deliveryAttemptDelay != 0, Int(s.deliveryAttemptDelay))
        input.deliveryAttemptTimeout = given.field("delivery_attempt_timeout", isSet: s.deliveryAttemptTimeout != 0, Int(s.deliveryAttemptTimeout))
        input.httpMethod = given.resettable("http_method", isSet: !s.httpMethod.isEmpty, s.httpMethod)
        input.headers = given.field("headers", isSet: !s.headers.isEmpty, .some(s.headers))
        input.auth = given.resettable("auth", isSet: s.hasAuth, auth(s.auth))
        input.payloadFormat = given.resettable("payload_format", isSet: !s.payloadFormat.isEmpty, s.payloadFormat)
        input.payloadTemplate = given.resettable("payload_template", isSet: s.hasPayloadTemplate, s.payloadTemplate)
        input.payloadContentType = given.resettable("payload_content_type", isSet: !s.payloadContentType.isEmpty, s.payloadContentType)
        input.maxInFlight = given.resettable("max_in_flight", isSet: s.hasMaxInFlight, Int(s.maxInFlight))
        input.rateLimit = given.resettable("rate_limit", isSet: s.hasRateLimit, Int(s.rateLimit))
        input.ordered = given.field("ordered", isSet: s.ordered, .some(s.ordered))
        input.callbackURL = given.resettable("callback_url", isSet: s.hasCallbackURL, s.callbackURL)
        input.callbackEvents = given.field("callback_events", isSet: !s.callbackEvents.isEmpty, .some(s.callbackEvents))
        input.eventTypes = given.field("event_types", isSet: !s.eventTypes.isEmpty, .some(s.eventTypes))
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

    /// Which fields a request gives: without a mask those set (non-zero), with one exactly its paths, which must be
    /// writable fields.
    private struct Given {
        /// `nil` without a mask.
        let paths: Set<String>?

        init(_ mask: Google_Protobuf_FieldMask?, writable: [String], readOnly: Set<String>, resource: String) throws {
            guard let mask, !mask.paths.isEmpty else {
                paths = nil
                return
            }
            var errors: [HammerError.FieldError] = []
            for (index, path) in mask.paths.enumerated() where path == "id" || !writable.contains(path) {
                let problem = path == "id" || readOnly.contains(path) ? "cannot be changed" : "is not a field of \(resource)"
                errors.append(.init("update_mask.paths[\(index)]", "\"\(path)\" \(problem)"))
            }
            if !errors.isEmpty { throw HammerError.invalid(resource, errors) }
            paths = Set(mask.paths)
        }

        func contains(_ name: String, isSet: Bool) -> Bool { paths?.contains(name) ?? isSet }

        /// `value` when the field is given.
        func field<Value>(_ name: String, isSet: Bool, _ value: Value) -> Value? { contains(name, isSet: isSet) ? value : nil }

        /// A resettable field: its value when set, null (its default, or none) when masked but zero.
        func resettable<Value>(_ name: String, isSet: Bool, _ value: Value) -> Value?? {
            contains(name, isSet: isSet) ? .some(isSet ? value : nil) : nil
        }
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
