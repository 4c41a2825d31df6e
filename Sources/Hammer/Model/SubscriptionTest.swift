import Foundation

/// A signed test event sent at once to a subscription, outside the queue: nothing is stored.
/// Used by `POST /v1/subscriptions/{id}/test` and `hammer subscriptions test ID`.
@dynamicMemberLookup
public struct SubscriptionTest: Sendable, Encodable {
    public var subscriptionID: String
    /// The `webhook-id` header (and CloudEvents id) the test event carried.
    public var webhookID: String
    public var url: String
    /// Its `error_kind` is left out on success.
    public var record: AttemptRecord

    public subscript<Value>(dynamicMember keyPath: KeyPath<AttemptRecord, Value>) -> Value { record[keyPath: keyPath] }

    private enum CodingKeys: String, CodingKey {
        case url
        case subscriptionID = "subscription_id"
        case webhookID = "webhook_id"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(subscriptionID, forKey: .subscriptionID)
        try container.encode(webhookID, forKey: .webhookID)
        try container.encode(url, forKey: .url)
        try record.encode(to: encoder, errorKind: .whenSet)
    }
}
