import Foundation
import PostgresNIO

extension Store {
    // A pending delivery's next attempt uses its subscription's settings as they are then (the claim reads them),
    // so that is what it shows; a finished one shows what its last attempt used (the claim wrote it).
    private static let deliveryColumns = """
        d.id, d.topic_id, d.subscription_id, d.message_id, m.content_type, m.data, m.event_type, \
        CASE WHEN d.status = 'pending' THEN s.url ELSE d.url END, \
        CASE WHEN d.status = 'pending' THEN s.max_delivery_attempts ELSE d.max_delivery_attempts END, \
        CASE WHEN d.status = 'pending' THEN s.delivery_attempt_delay ELSE d.delivery_attempt_delay END, \
        CASE WHEN d.status = 'pending' THEN s.delivery_attempt_timeout ELSE d.delivery_attempt_timeout END, \
        d.scheduled_at, d.delivery_attempts, d.status, d.created_at, d.updated_at
        """
    private static let deliveryFrom = "deliveries d JOIN messages m ON m.id = d.message_id JOIN subscriptions s ON s.id = d.subscription_id"
    private static let queuedDeliveryFrom =
        "delivery_queue q JOIN deliveries d ON d.id = q.delivery_id JOIN messages m ON m.id = d.message_id JOIN subscriptions s ON s.id = d.subscription_id"

    private static func delivery(_ row: PostgresRow) throws -> Delivery {
        var columns = ColumnReader(row)
        return Delivery(
            id: try columns.next(),
            topicID: try columns.next(),
            subscriptionID: try columns.next(),
            messageID: try columns.next(),
            contentType: try columns.next(),
            data: try columns.next(),
            eventType: try columns.next(),
            url: try columns.next(),
            maxDeliveryAttempts: try columns.next(),
            deliveryAttemptDelay: try columns.next(),
            deliveryAttemptTimeout: try columns.next(),
            scheduledAt: try columns.next(),
            deliveryAttempts: try columns.next(),
            status: Delivery.Status(rawValue: try columns.next()) ?? .pending,
            createdAt: try columns.next(),
            updatedAt: try columns.next()
        )
    }

    public func delivery(id: String) async throws -> Delivery {
        let query: PostgresQuery = "SELECT \(unescaped: Self.deliveryColumns) FROM \(unescaped: Self.deliveryFrom) WHERE d.id = \(id)"
        return try await one(query, resource: "delivery", id: id, decode: Self.delivery)
    }

    public func deliveries(_ filter: ListFilter) async throws -> [Delivery] {
        if let status = filter.equals.first(where: { $0.column == "status" })?.value, status != Delivery.Status.completed.rawValue {
            // Pending and failed deliveries are read through the queue's (status, created_at, id) index, in the same
            // order: no index on deliveries names status (a completion is a HOT update).
            let query = filter.query(
                select: Self.deliveryColumns,
                from: Self.queuedDeliveryFrom,
                alias: "d",
                timeAlias: "q",
                qualified: ["status": "q.status"]
            )
            return try await all(query, decode: Self.delivery)
        }
        return try await all(filter.query(select: Self.deliveryColumns, from: Self.deliveryFrom, alias: "d"), decode: Self.delivery)
    }
}

extension Store {
    /// Pending deliveries and the age in seconds of the oldest due one, both read from the queue.
    func pendingSummary() async throws -> (count: Int, oldestAgeSeconds: Double) {
        let query: PostgresQuery = """
            SELECT count(*)::bigint,
                COALESCE(extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE scheduled_at <= now())), 0)::float8
            FROM delivery_queue WHERE status = 'pending'
            """
        return try await first(query) { try $0.decode((Int, Double).self) } ?? (0, 0)
    }
}

extension Store {
    /// Subscriptions by status, and pending deliveries held back by a subscription setting: all of a disabled
    /// subscription's, the due ones of a rate-limited one, and the due ones behind an ordered one's head. Each count
    /// reads the pending indexes of the subscriptions concerned only.
    func healthSummary() async throws -> (subscriptions: [Subscription.Status: Int], heldBack: [String: Int]) {
        let query: PostgresQuery = """
            SELECT
                (SELECT count(*) FROM subscriptions WHERE status = 'active')::bigint,
                (SELECT count(*) FROM subscriptions WHERE status = 'disabled')::bigint,
                (SELECT count(*) FROM delivery_queue q JOIN subscriptions s ON s.id = q.subscription_id
                    WHERE s.status = 'disabled' AND q.status = 'pending')::bigint,
                (SELECT count(*) FROM delivery_queue q JOIN subscriptions s ON s.id = q.subscription_id
                    WHERE s.status = 'active' AND s.rate_limit IS NOT NULL AND q.status = 'pending' AND q.scheduled_at <= now())::bigint,
                (SELECT coalesce(sum(waiting - 1), 0) FROM (
                    SELECT count(*) AS waiting FROM delivery_queue q JOIN subscriptions s ON s.id = q.subscription_id
                    WHERE s.status = 'active' AND s.ordered AND q.status = 'pending' AND q.scheduled_at <= now()
                    GROUP BY q.subscription_id) o)::bigint
            """
        guard
            let (active, disabled, disabledHeld, rateHeld, orderedHeld) = try await first(
                query,
                decode: { try $0.decode((Int, Int, Int, Int, Int).self) }
            )
        else { return ([:], [:]) }
        return ([.active: active, .disabled: disabled], ["disabled": disabledHeld, "rate_limit": rateHeld, "ordered": orderedHeld])
    }

    /// Whether `id` names a delivery or a callback of this database.
    public func isDeliveryOrCallback(id: String) async throws -> Bool {
        let query: PostgresQuery = """
            SELECT EXISTS (SELECT 1 FROM deliveries WHERE id = \(id)) OR EXISTS (SELECT 1 FROM callbacks WHERE id = \(id))
            """
        return try await first(query) { try $0.decode(Bool.self) } ?? false
    }
}
