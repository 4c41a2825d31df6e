import Foundation
import PostgresNIO

/// The fields of a subscription a create or update sets; `nil` keeps the stored value on update.
public struct SubscriptionFields: Sendable, Equatable {
    public var topicID: String?
    public var name: String?
    public var url: String?
    public var secretToken: String?
    public var maxDeliveryAttempts: Int?
    public var deliveryAttemptDelay: Int?
    public var deliveryAttemptTimeout: Int?

    public init(
        topicID: String? = nil,
        name: String? = nil,
        url: String? = nil,
        secretToken: String? = nil,
        maxDeliveryAttempts: Int? = nil,
        deliveryAttemptDelay: Int? = nil,
        deliveryAttemptTimeout: Int? = nil
    ) {
        self.topicID = topicID
        self.name = name
        self.url = url
        self.secretToken = secretToken
        self.maxDeliveryAttempts = maxDeliveryAttempts
        self.deliveryAttemptDelay = deliveryAttemptDelay
        self.deliveryAttemptTimeout = deliveryAttemptTimeout
    }
}

extension Store {
    private static let subscriptionColumns = """
        id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, \
        delivery_attempt_timeout, created_at, updated_at
        """

    private static func subscription(_ row: PostgresRow) throws -> Subscription {
        let (id, topicID, name, url, secret, attempts, delay, timeout, createdAt, updatedAt) = try row.decode(
            (String, String, String, String, String, Int, Int, Int, Date, Date).self
        )
        return Subscription(
            id: id,
            topicID: topicID,
            name: name,
            url: url,
            secretToken: secret,
            maxDeliveryAttempts: attempts,
            deliveryAttemptDelay: delay,
            deliveryAttemptTimeout: timeout,
            createdAt: createdAt,
            updatedAt: updatedAt
        )
    }

    /// Creates a subscription; every field of `fields` must be set (the API validates that).
    public func createSubscription(id: String, _ fields: SubscriptionFields) async throws -> Subscription {
        let query: PostgresQuery = """
            INSERT INTO subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
            VALUES (\(id), \(fields.topicID), \(fields.name), \(fields.url), \(fields.secretToken), \(fields.maxDeliveryAttempts),
                    \(fields.deliveryAttemptDelay), \(fields.deliveryAttemptTimeout))
            RETURNING \(unescaped: Self.subscriptionColumns)
            """
        do {
            return try await first(query, committed: true, decode: Self.subscription)!
        } catch {
            throw PostgresErrorMapping.map(error, resource: "subscription", id: id, topicID: fields.topicID)
        }
    }

    /// Updates the fields that are set and keeps the others.
    public func updateSubscription(id: String, _ fields: SubscriptionFields) async throws -> Subscription {
        let query: PostgresQuery = """
            UPDATE subscriptions SET
                topic_id = COALESCE(\(fields.topicID), topic_id),
                name = COALESCE(\(fields.name), name),
                url = COALESCE(\(fields.url), url),
                secret_token = COALESCE(\(fields.secretToken), secret_token),
                max_delivery_attempts = COALESCE(\(fields.maxDeliveryAttempts)::integer, max_delivery_attempts),
                delivery_attempt_delay = COALESCE(\(fields.deliveryAttemptDelay)::integer, delivery_attempt_delay),
                delivery_attempt_timeout = COALESCE(\(fields.deliveryAttemptTimeout)::integer, delivery_attempt_timeout),
                updated_at = now()
            WHERE id = \(id)
            RETURNING \(unescaped: Self.subscriptionColumns)
            """
        let updated: Subscription?
        do {
            updated = try await first(query, committed: true, decode: Self.subscription)
        } catch {
            throw PostgresErrorMapping.map(error, resource: "subscription", id: id, topicID: fields.topicID)
        }
        guard let updated else { throw HammerError.doesNotExist("subscription", id: id) }
        return updated
    }

    public func subscription(id: String) async throws -> Subscription {
        let query: PostgresQuery = "SELECT \(unescaped: Self.subscriptionColumns) FROM subscriptions WHERE id = \(id)"
        return try await one(query, resource: "subscription", id: id, decode: Self.subscription)
    }

    /// Lists subscriptions without their secrets.
    public func subscriptions(_ filter: ListFilter) async throws -> [Subscription] {
        try await all(filter.query(select: Self.subscriptionColumns, from: "subscriptions")) {
            var subscription = try Self.subscription($0)
            subscription.secretToken = nil
            return subscription
        }
    }

    public func deleteSubscription(id: String) async throws {
        try await delete(from: "subscriptions", id: id, resource: "subscription")
    }
}
