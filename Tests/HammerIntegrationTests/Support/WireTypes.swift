import Foundation

/// The main resources as the REST API answers them, decoded from the wire independently of the server's own types,
/// so that a test reads fields by name and type and a renamed or retyped field fails to decode.
enum Wire {
    struct Topic: Decodable, Equatable {
        var id: String
        var name: String
        var createdAt: String
        var updatedAt: String
    }

    struct Subscription: Decodable {
        var id: String
        var topicId: String
        var name: String
        var url: String
        var secretToken: String?
        var maxDeliveryAttempts: Int
        var deliveryAttemptDelay: Int
        var deliveryAttemptTimeout: Int
        var status: String
        var createdAt: String
        var updatedAt: String
    }

    struct Message: Decodable {
        var id: String
        var topicId: String
        var contentType: String
        var data: String
        var createdAt: String
    }

    struct Delivery: Decodable {
        var id: String
        var topicId: String
        var subscriptionId: String
        var messageId: String
        var url: String
        var status: String
        var deliveryAttempts: Int
        var scheduledAt: String
        var createdAt: String
        var updatedAt: String
    }

    struct DeliveryAttempt: Decodable {
        var id: String
        var deliveryId: String
        var request: String
        var response: String
        var responseStatusCode: Int
        var executionDuration: Int
        var success: Bool
        var error: String
        var errorKind: String
        var createdAt: String
    }

    /// hammer's error body.
    struct ErrorBody: Decodable {
        struct Detail: Decodable {
            var field: String
            var description: String
        }

        var code: Int
        var error: String
        var message: String
        var details: [Detail]?
    }

    /// A list answer: `{"<key>": [...]}`.
    struct List<Item: Decodable>: Decodable {
        var items: [Item]

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let object = try container.decode([String: [Item]].self)
            guard object.count == 1, let items = object.values.first else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "a list answer has one key, got \(object.keys.sorted())")
            }
            self.items = items
        }
    }
}

extension TestResponse {
    /// The body decoded as `type`, its snake_case keys read as camelCase.
    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Value.self, from: Data(text.utf8))
    }

    /// The items of a list answer, decoded as `type`.
    func decodeList<Item: Decodable>(of type: Item.Type) throws -> [Item] {
        try decode(Wire.List<Item>.self).items
    }
}
