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
    public var httpMethod: DeliveryOptions.Method?
    public var headers: [String: String]?
    /// `.some(nil)` removes the auth.
    public var auth: TargetAuth??
    public var payloadFormat: DeliveryOptions.PayloadFormat?
    /// `.some(nil)` removes the template.
    public var payloadTemplate: String??
    public var payloadContentType: String?
    public var eventTypes: [String]?
    /// `.some(nil)` goes back to the worker's default.
    public var maxInFlight: Int??
    /// `.some(nil)` removes the limit.
    public var rateLimit: Int??
    public var ordered: Bool?
    /// `.some(nil)` removes the callback URL.
    public var callbackURL: String??
    public var callbackEvents: [Callback.EventType]?

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

    /// `current` with the delivery options these fields set applied over it.
    public func options(over current: DeliveryOptions) -> DeliveryOptions {
        var options = current
        if let httpMethod { options.httpMethod = httpMethod }
        if let headers { options.headers = headers }
        if let auth { options.auth = auth }
        if let payloadFormat { options.payloadFormat = payloadFormat }
        if let payloadTemplate { options.payloadTemplate = payloadTemplate }
        if let payloadContentType { options.payloadContentType = payloadContentType }
        return options
    }
}

extension Store {
    private static let subscriptionColumns = """
        id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, \
        http_method, headers::text, auth::text, payload_format, payload_template, payload_content_type, \
        max_in_flight, rate_limit, ordered, callback_url, callback_events, status, disabled_reason, disabled_at, event_types, \
        CASE WHEN previous_secret_expires_at > now() THEN previous_secret_token END, previous_secret_expires_at, created_at, updated_at
        """

    private static func subscription(_ row: PostgresRow) throws -> Subscription {
        var columns = ColumnReader(row)
        return Subscription(
            id: try columns.next(),
            topicID: try columns.next(),
            name: try columns.next(),
            url: try columns.next(),
            secretToken: try columns.next(),
            maxDeliveryAttempts: try columns.next(),
            deliveryAttemptDelay: try columns.next(),
            deliveryAttemptTimeout: try columns.next(),
            options: try deliveryOptions(&columns),
            limits: DeliveryLimits(maxInFlight: try columns.next(), rateLimit: try columns.next(), ordered: try columns.next()),
            callbackURL: try columns.next(),
            callbackEvents: try columns.next([String].self).compactMap(Callback.EventType.init(rawValue:)),
            status: Subscription.Status(rawValue: try columns.next()) ?? .active,
            disabledReason: try columns.next(),
            disabledAt: try columns.next(),
            eventTypes: try columns.next(),
            previousSecretToken: try columns.next(),
            previousSecretExpiresAt: try columns.next(),
            createdAt: try columns.next(),
            updatedAt: try columns.next()
        )
    }

    /// Reads `http_method, headers::text, auth::text, payload_format, payload_template, payload_content_type`.
    static func deliveryOptions(_ columns: inout ColumnReader) throws -> DeliveryOptions {
        let method: String = try columns.next()
        let headers: String = try columns.next()
        let auth: String? = try columns.next()
        let format: String = try columns.next()
        return DeliveryOptions(
            httpMethod: DeliveryOptions.Method(rawValue: method) ?? .post,
            headers: headers == "{}" ? [:] : try JSONDecoder().decode([String: String].self, from: Data(headers.utf8)),
            auth: try auth.map { try JSONDecoder().decode(TargetAuth.self, from: Data($0.utf8)) },
            payloadFormat: DeliveryOptions.PayloadFormat(rawValue: format) ?? .cloudevents,
            payloadTemplate: try columns.next(),
            payloadContentType: try columns.next()
        )
    }

    private static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    /// Creates a subscription; every required field of `fields` must be set (the API validates that).
    public func createSubscription(id: String, _ fields: SubscriptionFields) async throws -> Subscription {
        let options = fields.options(over: DeliveryOptions())
        let query: PostgresQuery = """
            INSERT INTO subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout,
                http_method, headers, auth, payload_format, payload_template, payload_content_type, event_types,
                max_in_flight, rate_limit, ordered, callback_url, callback_events)
            VALUES (\(id), \(fields.topicID), \(fields.name), \(fields.url), \(fields.secretToken), \(fields.maxDeliveryAttempts),
                \(fields.deliveryAttemptDelay), \(fields.deliveryAttemptTimeout), \(options.httpMethod.rawValue), \(Self.json(options.headers))::jsonb,
                \(options.auth.map(Self.json))::jsonb, \(options.payloadFormat.rawValue), \(options.payloadTemplate), \(options.payloadContentType),
                \(fields.eventTypes ?? [])::text[], \(fields.maxInFlight ?? nil)::integer, \(fields.rateLimit ?? nil)::integer, \(fields.ordered ?? false),
                \(fields.callbackURL ?? nil), \((fields.callbackEvents ?? Callback.defaultEvents).map(\.rawValue))::text[])
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
                http_method = COALESCE(\(fields.httpMethod?.rawValue), http_method),
                headers = COALESCE(\(fields.headers.map(Self.json))::jsonb, headers),
                auth = CASE WHEN \(fields.auth != nil) THEN \(fields.auth?.map(Self.json))::jsonb ELSE auth END,
                payload_format = COALESCE(\(fields.payloadFormat?.rawValue), payload_format),
                payload_template = CASE WHEN \(fields.payloadTemplate != nil) THEN \(fields.payloadTemplate ?? nil) ELSE payload_template END,
                payload_content_type = COALESCE(\(fields.payloadContentType), payload_content_type),
                event_types = COALESCE(\(fields.eventTypes)::text[], event_types),
                max_in_flight = CASE WHEN \(fields.maxInFlight != nil) THEN \(fields.maxInFlight ?? nil)::integer ELSE max_in_flight END,
                rate_limit = CASE WHEN \(fields.rateLimit != nil) THEN \(fields.rateLimit ?? nil)::integer ELSE rate_limit END,
                ordered = COALESCE(\(fields.ordered), ordered),
                callback_url = CASE WHEN \(fields.callbackURL != nil) THEN \(fields.callbackURL ?? nil) ELSE callback_url END,
                callback_events = COALESCE(\(fields.callbackEvents?.map(\.rawValue))::text[], callback_events),
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

    /// Makes `secret` the signing secret; the current one keeps signing too (a second signature) for `gracePeriod`.
    public func rotateSecret(id: String, secret: String, gracePeriod: Duration) async throws -> Subscription {
        let query: PostgresQuery = """
            UPDATE subscriptions SET
                previous_secret_token = secret_token,
                previous_secret_expires_at = now() + make_interval(secs => \(Double(gracePeriod.components.seconds))),
                secret_token = \(secret),
                updated_at = now()
            WHERE id = \(id)
            RETURNING \(unescaped: Self.subscriptionColumns)
            """
        return try await one(query, committed: true, resource: "subscription", id: id, decode: Self.subscription)
    }

    /// Stops sending to the subscription: its deliveries wait `pending`. Disabling a disabled one changes nothing.
    public func disableSubscription(id: String, reason: String) async throws -> Subscription {
        let query: PostgresQuery = """
            WITH changed AS (
                UPDATE subscriptions SET status = 'disabled', disabled_reason = \(reason), disabled_at = now(), updated_at = now()
                WHERE id = \(id) AND status = 'active'
                RETURNING \(unescaped: Self.subscriptionColumns)
            )
            SELECT * FROM changed
            UNION ALL
            SELECT \(unescaped: Self.subscriptionColumns) FROM subscriptions WHERE id = \(id) AND NOT EXISTS (SELECT 1 FROM changed)
            """
        return try await one(query, committed: true, resource: "subscription", id: id, decode: Self.subscription)
    }

    /// Sends to the subscription again: its pending deliveries become due at once, and workers are woken.
    public func enableSubscription(id: String) async throws -> Subscription {
        let query: PostgresQuery = """
            WITH enabled AS (
                UPDATE subscriptions SET status = 'active', disabled_reason = NULL, disabled_at = NULL, failing_since = NULL,
                    updated_at = CASE WHEN status = 'active' THEN updated_at ELSE now() END
                WHERE id = \(id)
                RETURNING \(unescaped: Self.subscriptionColumns)
            ), due AS (
                UPDATE delivery_queue SET scheduled_at = now()
                WHERE subscription_id IN (SELECT id FROM enabled) AND status = 'pending' AND scheduled_at > now()
                RETURNING delivery_id
            ), shown_due AS (
                UPDATE deliveries SET scheduled_at = now() WHERE id IN (SELECT delivery_id FROM due)
            ), notified AS (
                SELECT pg_notify('\(unescaped: Store.deliveriesChannel)', '') FROM enabled
            )
            SELECT * FROM enabled WHERE (SELECT count(*) FROM notified) >= 0
            """
        return try await one(query, committed: true, resource: "subscription", id: id, decode: Self.subscription)
    }

    public func subscription(id: String) async throws -> Subscription {
        let query: PostgresQuery = "SELECT \(unescaped: Self.subscriptionColumns) FROM subscriptions WHERE id = \(id)"
        return try await one(query, resource: "subscription", id: id, decode: Self.subscription)
    }

    /// Lists subscriptions without their credentials (secret, headers, auth).
    public func subscriptions(_ filter: ListFilter) async throws -> [Subscription] {
        try await all(filter.query(select: Self.subscriptionColumns, from: "subscriptions")) {
            var subscription = try Self.subscription($0)
            subscription.secretToken = nil
            subscription.previousSecretToken = nil
            subscription.options.headers = [:]
            subscription.options.auth = nil
            subscription.hidesCredentials = true
            return subscription
        }
    }

    public func deleteSubscription(id: String) async throws {
        try await delete(from: "subscriptions", id: id, resource: "subscription")
    }
}
