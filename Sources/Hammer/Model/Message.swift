import Foundation

/// A published payload; `data` is its bytes in base64, as hammer sends it.
public struct Message: Sendable, Equatable, Encodable {
    public init(id: String, topicID: String, contentType: String, data: String, eventType: String? = nil, createdAt: Date) {
        self.id = id
        self.topicID = topicID
        self.contentType = contentType
        self.data = data
        self.eventType = eventType
        self.createdAt = createdAt
    }

    public var id: String
    public var topicID: String
    public var contentType: String
    public var data: String
    /// What happened (`invoice.paid`): the CloudEvents `type`, and what subscriptions filter on.
    public var eventType: String?
    public var createdAt: Date

    /// The content type of a message published without one.
    public static let defaultContentType = "application/json"

    enum CodingKeys: String, CodingKey {
        case id, data
        case topicID = "topic_id"
        case contentType = "content_type"
        case eventType = "event_type"
        case createdAt = "created_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(topicID, forKey: .topicID)
        try container.encode(contentType, forKey: .contentType)
        try container.encode(data, forKey: .data)
        try container.encode(eventType, forKey: .eventType)
        try container.encode(createdAt, forKey: .createdAt)
    }
}
