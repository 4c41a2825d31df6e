import Foundation

/// How a subscription authenticates to its endpoint: sent as the `Authorization` header.
public enum TargetAuth: Sendable, Equatable, Codable {
    case bearer(token: String)
    case basic(username: String, password: String)

    /// The `Authorization` header value.
    public var headerValue: String {
        switch self {
        case .bearer(let token): "Bearer " + token
        case .basic(let username, let password): "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        }
    }

    enum CodingKeys: String, CodingKey {
        case type, token, username, password
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .type) {
        case "bearer": self = .bearer(token: try container.decode(String.self, forKey: .token))
        case "basic":
            self = .basic(
                username: try container.decode(String.self, forKey: .username),
                password: try container.decode(String.self, forKey: .password)
            )
        case let other: throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "unknown auth type \(other)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .bearer(let token):
            try container.encode("bearer", forKey: .type)
            try container.encode(token, forKey: .token)
        case .basic(let username, let password):
            try container.encode("basic", forKey: .type)
            try container.encode(username, forKey: .username)
            try container.encode(password, forKey: .password)
        }
    }
}
