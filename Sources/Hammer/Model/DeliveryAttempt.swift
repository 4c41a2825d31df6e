import Foundation

/// The record of one HTTP attempt at a delivery: what was sent and what came back.
@dynamicMemberLookup
public struct DeliveryAttempt: Sendable, Equatable, Encodable {
    public var id: String
    public var deliveryID: String
    public var record: AttemptRecord

    public init(id: String, deliveryID: String, record: AttemptRecord) {
        self.id = id
        self.deliveryID = deliveryID
        self.record = record
    }

    public subscript<Value>(dynamicMember keyPath: KeyPath<AttemptRecord, Value>) -> Value { record[keyPath: keyPath] }

    private enum CodingKeys: String, CodingKey {
        case id
        case deliveryID = "delivery_id"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(deliveryID, forKey: .deliveryID)
        try record.encode(to: encoder, errorKind: .always)
    }
}
