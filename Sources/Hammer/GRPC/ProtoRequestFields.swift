import SwiftProtobuf

/// gRPC requests as the request bodies the shared operations read, so both front ends check the same rules and name
/// the same fields in their errors. A zero value (`""`, `0`, `false`, empty, unset) is a field not given, as proto3
/// cannot tell them apart; an update's `update_mask` lists fields to set even to zero, which clears or resets them.
enum ProtoRequestFields {
    /// One field of a resource: its value, and whether it holds more than proto3's zero.
    private struct Field {
        let isSet: Bool
        let value: JSONValue
    }

    /// `id` and `name`.
    static func topic(_ topic: Hammer_V1_Topic, mask: Google_Protobuf_FieldMask? = nil) throws -> RequestBody {
        let fields: [String: Field] = [
            "id": string(topic.id),
            "name": string(topic.name),
        ]
        return try body(fields, readOnly: ["created_at", "updated_at"], mask: mask, resource: "topic")
    }

    /// Every writable field of a subscription (README: REST API, Delivery options, Endpoint health).
    static func subscription(_ subscription: Hammer_V1_Subscription, mask: Google_Protobuf_FieldMask? = nil) throws -> RequestBody {
        let fields: [String: Field] = [
            "id": string(subscription.id),
            "topic_id": string(subscription.topicID),
            "name": string(subscription.name),
            "url": string(subscription.url),
            "secret_token": string(subscription.secretToken),
            "max_delivery_attempts": integer(subscription.maxDeliveryAttempts),
            "delivery_attempt_delay": integer(subscription.deliveryAttemptDelay),
            "delivery_attempt_timeout": integer(subscription.deliveryAttemptTimeout),
            "http_method": string(subscription.httpMethod, zeroIsDefault: true),
            "headers": Field(isSet: !subscription.headers.isEmpty, value: .object(subscription.headers.mapValues(JSONValue.string))),
            "auth": Field(isSet: subscription.hasAuth, value: subscription.hasAuth ? auth(subscription.auth) : .null),
            "payload_format": string(subscription.payloadFormat, zeroIsDefault: true),
            "payload_template": optional(subscription.hasPayloadTemplate, .string(subscription.payloadTemplate)),
            "payload_content_type": string(subscription.payloadContentType, zeroIsDefault: true),
            "event_types": strings(subscription.eventTypes),
            "max_in_flight": optional(subscription.hasMaxInFlight, .integer(Int64(subscription.maxInFlight))),
            "rate_limit": optional(subscription.hasRateLimit, .integer(Int64(subscription.rateLimit))),
            "ordered": Field(isSet: subscription.ordered, value: .bool(subscription.ordered)),
            "callback_url": optional(subscription.hasCallbackURL, .string(subscription.callbackURL)),
            "callback_events": strings(subscription.callbackEvents),
        ]
        let readOnly: Set = ["created_at", "updated_at", "previous_secret_expires_at", "status", "disabled_reason", "disabled_at"]
        return try body(fields, readOnly: readOnly, mask: mask, resource: "subscription")
    }

    /// `topic_id`, `data`, `content_type`, `event_type`; the id is the server's.
    static func message(_ message: Hammer_V1_Message) -> RequestBody {
        let fields = ["topic_id": message.topicID, "data": message.data, "content_type": message.contentType, "event_type": message.eventType]
        return RequestBody(fields: fields.filter { !$0.value.isEmpty }.mapValues(JSONValue.string))
    }

    private static func body(
        _ fields: [String: Field],
        readOnly: Set<String>,
        mask: Google_Protobuf_FieldMask?,
        resource: String
    ) throws
        -> RequestBody
    {
        guard let mask, !mask.paths.isEmpty else {
            return RequestBody(fields: fields.filter(\.value.isSet).mapValues(\.value))
        }
        var selected: [String: JSONValue] = [:]
        var errors: [HammerError.FieldError] = []
        for (index, path) in mask.paths.enumerated() {
            if let field = fields[path], path != "id" {
                selected[path] = field.value
            } else if path == "id" || readOnly.contains(path) {
                errors.append(.init("update_mask.paths[\(index)]", "\"\(path)\" cannot be changed"))
            } else {
                errors.append(.init("update_mask.paths[\(index)]", "\"\(path)\" is not a field of \(resource)"))
            }
        }
        if !errors.isEmpty { throw HammerError.invalid(resource, errors) }
        return RequestBody(fields: selected)
    }

    /// `zeroIsDefault`: a masked empty value is `null`, the option's default, rather than an empty (invalid) string.
    private static func string(_ value: String, zeroIsDefault: Bool = false) -> Field {
        Field(isSet: !value.isEmpty, value: value.isEmpty && zeroIsDefault ? .null : .string(value))
    }

    private static func integer(_ value: UInt32) -> Field {
        Field(isSet: value != 0, value: .integer(Int64(value)))
    }

    private static func strings(_ values: [String]) -> Field {
        Field(isSet: !values.isEmpty, value: .array(values.map(JSONValue.string)))
    }

    /// A proto3 `optional` field: set or not, and `null` when masked but unset.
    private static func optional(_ has: Bool, _ value: JSONValue) -> Field {
        Field(isSet: has, value: has ? value : .null)
    }

    /// The fields REST's `auth` object has for the type: a bearer `token`, or basic `username` and `password`.
    private static func auth(_ auth: Hammer_V1_TargetAuth) -> JSONValue {
        var object: [String: JSONValue] = ["type": .string(auth.type)]
        switch auth.type {
        case "bearer": object["token"] = .string(auth.token)
        case "basic": (object["username"], object["password"]) = (.string(auth.username), .string(auth.password))
        default: break
        }
        return .object(object)
    }
}
