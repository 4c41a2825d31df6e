import Foundation

/// A webhook endpoint subscribed to a topic, with its retry settings.
public struct Subscription: Sendable, Equatable, Encodable {
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
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, url
        case topicID = "topic_id"
        case secretToken = "secret_token"
        case maxDeliveryAttempts = "max_delivery_attempts"
        case deliveryAttemptDelay = "delivery_attempt_delay"
        case deliveryAttemptTimeout = "delivery_attempt_timeout"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(topicID, forKey: .topicID)
        try container.encode(name, forKey: .name)
        try container.encode(url, forKey: .url)
        try container.encodeIfPresent(secretToken, forKey: .secretToken)
        try container.encode(maxDeliveryAttempts, forKey: .maxDeliveryAttempts)
        try container.encode(deliveryAttemptDelay, forKey: .deliveryAttemptDelay)
        try container.encode(deliveryAttemptTimeout, forKey: .deliveryAttemptTimeout)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}
