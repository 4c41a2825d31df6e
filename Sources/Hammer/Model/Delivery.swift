import Foundation

/// One message bound for one subscription, with its delivery state.
public struct Delivery: Sendable, Equatable, Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(topicID, forKey: .topicID)
        try container.encode(subscriptionID, forKey: .subscriptionID)
        try container.encode(messageID, forKey: .messageID)
        try container.encode(contentType, forKey: .contentType)
        try container.encode(data, forKey: .data)
        try container.encode(eventType, forKey: .eventType)
        // The URL may carry credentials; only its subscription's own GET shows it whole.
        try container.encode(URLRedaction.redacted(url), forKey: .url)
        try container.encode(maxDeliveryAttempts, forKey: .maxDeliveryAttempts)
        try container.encode(deliveryAttemptDelay, forKey: .deliveryAttemptDelay)
        try container.encode(deliveryAttemptTimeout, forKey: .deliveryAttemptTimeout)
        try container.encode(scheduledAt, forKey: .scheduledAt)
        try container.encode(deliveryAttempts, forKey: .deliveryAttempts)
        try container.encode(status, forKey: .status)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }

    public enum Status: String, Sendable, Codable, CaseIterable {
        case pending, completed, failed
    }

    public var id: String
    public var topicID: String
    public var subscriptionID: String
    public var messageID: String
    public var contentType: String
    public var data: String
    /// The message's event type.
    public var eventType: String?
    /// This and the three settings after it: what the next attempt uses while pending (the subscription's values
    /// now), what the last attempt used once finished.
    public var url: String
    public var maxDeliveryAttempts: Int
    public var deliveryAttemptDelay: Int
    public var deliveryAttemptTimeout: Int
    public var scheduledAt: Date
    public var deliveryAttempts: Int
    public var status: Status
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, data, url, status
        case topicID = "topic_id"
        case subscriptionID = "subscription_id"
        case messageID = "message_id"
        case contentType = "content_type"
        case eventType = "event_type"
        case maxDeliveryAttempts = "max_delivery_attempts"
        case deliveryAttemptDelay = "delivery_attempt_delay"
        case deliveryAttemptTimeout = "delivery_attempt_timeout"
        case scheduledAt = "scheduled_at"
        case deliveryAttempts = "delivery_attempts"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}
