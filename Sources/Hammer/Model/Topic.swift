import Foundation

/// A named resource messages are published to.
public struct Topic: Sendable, Equatable, Encodable {
    public var id: String
    public var name: String
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}
