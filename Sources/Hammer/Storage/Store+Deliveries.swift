import Foundation
import PostgresNIO

extension Store {
    private static let deliveryColumns = """
        d.id, d.topic_id, d.subscription_id, d.message_id, m.content_type, m.data, d.url, d.max_delivery_attempts, \
        d.delivery_attempt_delay, d.delivery_attempt_timeout, d.scheduled_at, d.delivery_attempts, d.status, d.created_at, d.updated_at
        """
    private static let deliveryFrom = "deliveries d JOIN messages m ON m.id = d.message_id"

    private static func delivery(_ row: PostgresRow) throws -> Delivery {
        let (
            id, topicID, subscriptionID, messageID, contentType, data, url, attempts, delay, timeout, scheduledAt, made, status, createdAt, updatedAt
        ) =
            try row.decode((String, String, String, String, String, String, String, Int, Int, Int, Date, Int, String, Date, Date).self)
        return Delivery(
            id: id,
            topicID: topicID,
            subscriptionID: subscriptionID,
            messageID: messageID,
            contentType: contentType,
            data: data,
            url: url,
            maxDeliveryAttempts: attempts,
            deliveryAttemptDelay: delay,
            deliveryAttemptTimeout: timeout,
            scheduledAt: scheduledAt,
            deliveryAttempts: made,
            status: Delivery.Status(rawValue: status) ?? .pending,
            createdAt: createdAt,
            updatedAt: updatedAt
        )
    }

    public func delivery(id: String) async throws -> Delivery {
        let query: PostgresQuery = "SELECT \(unescaped: Self.deliveryColumns) FROM \(unescaped: Self.deliveryFrom) WHERE d.id = \(id)"
        return try await one(query, resource: "delivery", id: id, decode: Self.delivery)
    }

    public func deliveries(_ filter: ListFilter) async throws -> [Delivery] {
        try await all(filter.query(select: Self.deliveryColumns, from: Self.deliveryFrom, alias: "d"), decode: Self.delivery)
    }
}

extension Store {
    /// Pending deliveries and the age in seconds of the oldest due one, both read from the partial pending index.
    func pendingSummary() async throws -> (count: Int, oldestAgeSeconds: Double) {
        let query: PostgresQuery = """
            SELECT count(*)::bigint,
                COALESCE(extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE scheduled_at <= now())), 0)::float8
            FROM deliveries WHERE status = 'pending'
            """
        return try await first(query) { try $0.decode((Int, Double).self) } ?? (0, 0)
    }
}
