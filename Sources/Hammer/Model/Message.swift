import Foundation

/// A published payload; `data` is its bytes in base64, as hammer sends it.
public struct Message: Sendable, Equatable, Encodable {
    public var id: String
    public var topicID: String
    public var contentType: String
    public var data: String
    public var createdAt: Date

    /// The content type of a message published without one.
    public static let defaultContentType = "application/json"

    enum CodingKeys: String, CodingKey {
        case id, data
        case topicID = "topic_id"
        case contentType = "content_type"
        case createdAt = "created_at"
    }
}
