import Foundation

/// One message bound for one subscription, with its delivery state.
public struct Delivery: Sendable, Equatable, Encodable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case pending, completed, failed
    }

    public var id: String
    public var topicID: String
    public var subscriptionID: String
    public var messageID: String
    public var contentType: String
    public var data: String
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
        case maxDeliveryAttempts = "max_delivery_attempts"
        case deliveryAttemptDelay = "delivery_attempt_delay"
        case deliveryAttemptTimeout = "delivery_attempt_timeout"
        case scheduledAt = "scheduled_at"
        case deliveryAttempts = "delivery_attempts"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}
