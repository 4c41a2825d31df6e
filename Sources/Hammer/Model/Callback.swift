import Foundation

/// An outcome event for a subscription's `callback_url` (docs/endpoint-health.md), with its attempts.
public struct Callback: Sendable, Equatable, Encodable {
    /// The events a subscription can be called back for.
    public enum EventType: String, Sendable, CaseIterable, Codable {
        case deliveryFailed = "delivery.failed"
        case deliveryCompleted = "delivery.completed"
        case subscriptionDisabled = "subscription.disabled"
    }

    /// One attempt at sending the callback: what was sent and what came back (shown without `error_kind`).
    @dynamicMemberLookup
    public struct Attempt: Sendable, Equatable, Encodable {
        public var id: String
        public var record: AttemptRecord

        public subscript<Value>(dynamicMember keyPath: KeyPath<AttemptRecord, Value>) -> Value { record[keyPath: keyPath] }

        private enum CodingKeys: String, CodingKey { case id }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try record.encode(to: encoder, errorKind: .never)
        }
    }

    public static let defaultEvents: [EventType] = [.deliveryFailed, .subscriptionDisabled]

    public var id: String
    public var subscriptionID: String
    public var type: EventType
    public var deliveryID: String?
    public var url: String
    /// The JSON event as sent (and signed).
    public var body: String
    public var status: Delivery.Status
    public var attempts: Int
    public var scheduledAt: Date
    public var createdAt: Date
    public var updatedAt: Date
    /// Every attempt, oldest first: on single reads only.
    public var attemptRecords: [Attempt]?

    enum CodingKeys: String, CodingKey {
        case id, type, url, body, status, attempts
        case subscriptionID = "subscription_id"
        case deliveryID = "delivery_id"
        case scheduledAt = "scheduled_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case attemptRecords = "attempt_records"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(subscriptionID, forKey: .subscriptionID)
        try container.encode(type, forKey: .type)
        try container.encode(deliveryID, forKey: .deliveryID)
        // The callback_url may carry credentials; only its subscription's own GET shows it whole.
        try container.encode(URLRedaction.redacted(url), forKey: .url)
        try container.encode(body, forKey: .body)
        try container.encode(status, forKey: .status)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(scheduledAt, forKey: .scheduledAt)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encodeIfPresent(attemptRecords, forKey: .attemptRecords)
    }
}
