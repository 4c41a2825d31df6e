import Foundation

/// A webhook endpoint subscribed to a topic, with its retry settings and how its requests are shaped.
public struct Subscription: Sendable, Equatable, Encodable {
    public enum Status: String, Sendable, Codable {
        /// Deliveries are sent.
        case active
        /// Nothing is sent; deliveries wait `pending` until it is enabled.
        case disabled
    }

    /// The `disabled_reason` of `POST /v1/subscriptions/{id}/disable` and `hammer subscriptions disable`.
    public static let disabledByHand = "disabled by hand (API or hammer subscriptions disable)"

    /// The longest `delivery_attempt_timeout` a subscription may have, in seconds.
    public static let maxDeliveryAttemptTimeout = 60

    public var id: String
    public var topicID: String
    public var name: String
    public var url: String
    /// `nil` in list responses: secrets are shown only on create and single reads.
    public var secretToken: String?
    public var maxDeliveryAttempts: Int
    public var deliveryAttemptDelay: Int
    public var deliveryAttemptTimeout: Int
    public var options: DeliveryOptions
    public var limits: DeliveryLimits
    /// Where outcome events go, and which.
    public var callbackURL: String?
    public var callbackEvents: [Callback.EventType]
    public var status: Status
    /// Why and when it was disabled, while it is.
    public var disabledReason: String?
    public var disabledAt: Date?
    /// The message event types it receives (exact, `prefix.*` or `*`); empty receives every message.
    public var eventTypes: [String]
    /// The secret before the last rotation while it still signs (until `previousSecretExpiresAt`); never shown.
    public var previousSecretToken: String?
    /// Until then requests also carry a signature with the secret before the last rotation.
    public var previousSecretExpiresAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
    /// Lists leave out `secret_token`, `headers` and `auth`, and show `url` and `callback_url` redacted
    /// (`URLRedaction`): they may hold credentials.
    public var hidesCredentials = false

    /// `url` as this read shows it: whole, or redacted when `hidesCredentials`.
    public var shownURL: String { hidesCredentials ? URLRedaction.redacted(url) : url }
    /// `callbackURL` as this read shows it.
    public var shownCallbackURL: String? { hidesCredentials ? callbackURL.map(URLRedaction.redacted) : callbackURL }

    enum CodingKeys: String, CodingKey {
        case id, name, url, headers, auth
        case topicID = "topic_id"
        case secretToken = "secret_token"
        case maxDeliveryAttempts = "max_delivery_attempts"
        case deliveryAttemptDelay = "delivery_attempt_delay"
        case deliveryAttemptTimeout = "delivery_attempt_timeout"
        case httpMethod = "http_method"
        case payloadFormat = "payload_format"
        case payloadTemplate = "payload_template"
        case payloadContentType = "payload_content_type"
        case eventTypes = "event_types"
        case previousSecretExpiresAt = "previous_secret_expires_at"
        case maxInFlight = "max_in_flight"
        case rateLimit = "rate_limit"
        case ordered, status
        case callbackURL = "callback_url"
        case callbackEvents = "callback_events"
        case disabledReason = "disabled_reason"
        case disabledAt = "disabled_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(topicID, forKey: .topicID)
        try container.encode(name, forKey: .name)
        try container.encode(shownURL, forKey: .url)
        if !hidesCredentials {
            try container.encodeIfPresent(secretToken, forKey: .secretToken)
            try container.encode(options.headers, forKey: .headers)
            try container.encode(options.auth, forKey: .auth)
        }
        try container.encode(maxDeliveryAttempts, forKey: .maxDeliveryAttempts)
        try container.encode(deliveryAttemptDelay, forKey: .deliveryAttemptDelay)
        try container.encode(deliveryAttemptTimeout, forKey: .deliveryAttemptTimeout)
        try container.encode(options.httpMethod.rawValue, forKey: .httpMethod)
        try container.encode(options.payloadFormat.rawValue, forKey: .payloadFormat)
        try container.encode(options.payloadTemplate, forKey: .payloadTemplate)
        try container.encode(options.payloadContentType, forKey: .payloadContentType)
        try container.encode(eventTypes, forKey: .eventTypes)
        try container.encode(previousSecretExpiresAt, forKey: .previousSecretExpiresAt)
        try container.encode(limits.maxInFlight, forKey: .maxInFlight)
        try container.encode(limits.rateLimit, forKey: .rateLimit)
        try container.encode(limits.ordered, forKey: .ordered)
        try container.encode(shownCallbackURL, forKey: .callbackURL)
        try container.encode(callbackEvents, forKey: .callbackEvents)
        try container.encode(status, forKey: .status)
        try container.encode(disabledReason, forKey: .disabledReason)
        try container.encode(disabledAt, forKey: .disabledAt)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}
