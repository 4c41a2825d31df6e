import Foundation
import Hammer
import PostgresNIO

/// A table tests count rows of.
enum TestTable: String {
    case topics, subscriptions, messages, deliveries, callbacks
    case deliveryAttempts = "delivery_attempts"
    case deliveryQueue = "delivery_queue"
    case idempotencyKeys = "idempotency_keys"
    case callbackAttempts = "callback_attempts"
    case partitionPeriods = "partition_periods"
}

/// The questions tests ask the database and the states they put it in, named, so that a test body says what it
/// checks; a test whose point is the SQL itself (migrations, the outbox function) keeps its SQL.
extension PostgresClient {
    /// The rows `table` holds now.
    func rowCount(_ table: TestTable) async throws -> Int {
        try await count("SELECT count(*) FROM \(table.rawValue)")
    }

    /// The number a `SELECT count(*) …` answers.
    func count(_ sql: String) async throws -> Int {
        try await query(PostgresQuery(unsafeSQL: sql)).collect().first!.decode(Int.self)
    }

    /// The number a `SELECT count(*) …` with bound values answers.
    func count(_ query: PostgresQuery) async throws -> Int {
        try await self.query(query).collect().first!.decode(Int.self)
    }

    /// The one text value a query answers.
    func only(_ query: PostgresQuery) async throws -> String {
        try await self.query(query).collect().first!.decode(String.self)
    }

    /// Deliveries by status.
    func deliveryStatuses() async throws -> [String: Int] {
        var result: [String: Int] = [:]
        for row in try await query("SELECT status, count(*) FROM deliveries GROUP BY status").collect() {
            let (status, count) = try row.decode((String, Int).self)
            result[status] = count
        }
        return result
    }

    /// Attempts recorded, of one delivery when `deliveryID` is given.
    func attemptCount(deliveryID: String? = nil, success: Bool? = nil, statusCode: Int? = nil) async throws -> Int {
        try await query(
            """
            SELECT count(*) FROM delivery_attempts
            WHERE (\(deliveryID)::text IS NULL OR delivery_id = \(deliveryID)) AND (\(success)::bool IS NULL OR success = \(success))
                AND (\(statusCode)::int IS NULL OR response_status_code = \(statusCode))
            """
        ).collect().first!.decode(Int.self)
    }

    /// Every attempt as the API reads it, oldest first.
    func attempts() async throws -> [DeliveryAttempt] {
        try await Store(client: self, logger: TestDatabase.logger).deliveryAttempts(ListFilter(limit: 100_000))
    }

    /// The id of the database's one delivery.
    func onlyDeliveryID() async throws -> String {
        let rows = try await query("SELECT id FROM deliveries").collect()
        guard rows.count == 1 else { throw TestDatabase.SetupError("expected one delivery, found \(rows.count)") }
        return try rows[0].decode(String.self)
    }

    /// Deliveries that are no longer pending: completed or failed.
    func finishedDeliveries() async throws -> Int {
        try await deliveryStatuses().filter { $0.key != "pending" }.values.reduce(0, +)
    }

    /// The attempts counted on the database's one delivery (its `delivery_attempts`).
    func attemptsOfTheOnlyDelivery() async throws -> Int {
        let rows = try await query("SELECT delivery_attempts FROM deliveries").collect()
        guard rows.count == 1 else { throw TestDatabase.SetupError("expected one delivery, found \(rows.count)") }
        return try rows[0].decode(Int.self)
    }

    /// What each attempt's record holds as its request, by attempt id (a body rebuilt on reading is not in it).
    func storedRequests() async throws -> [String: String] {
        var requests: [String: String] = [:]
        for row in try await query("SELECT id, request FROM delivery_attempts").collect() {
            let (id, request) = try row.decode((String, String).self)
            requests[id] = request
        }
        return requests
    }

    /// Every attempt's request dump, oldest first.
    func attemptRequests() async throws -> [String] {
        try await query("SELECT request FROM delivery_attempts ORDER BY created_at, id").collect().map { try $0.decode(String.self) }
    }

    /// Every attempt's response dump, oldest first.
    func attemptResponses() async throws -> [String] {
        try await query("SELECT response FROM delivery_attempts ORDER BY created_at, id").collect().map { try $0.decode(String.self) }
    }

    /// Every attempt's `error_kind` and `error`, oldest first.
    func attemptErrors() async throws -> [(kind: String, error: String)] {
        try await query("SELECT error_kind, error FROM delivery_attempts ORDER BY created_at, id").collect().map {
            try $0.decode((String, String).self)
        }
    }

    /// When each attempt was recorded, oldest first.
    func attemptTimes() async throws -> [Date] {
        try await query("SELECT created_at FROM delivery_attempts ORDER BY created_at").collect().map { try $0.decode(Date.self) }
    }

    /// Pending deliveries of `subscription` with no attempt made: a fresh round.
    func freshPendingDeliveries(subscription: String) async throws -> Int {
        try await query(
            "SELECT count(*) FROM deliveries WHERE status = 'pending' AND subscription_id = \(subscription) AND delivery_attempts = 0"
        ).collect().first!.decode(Int.self)
    }

    /// Sets deliveries' status as a worker would have left it (of one subscription, or one delivery, or all), with
    /// `attempts` made and last changed `changedSecondsAgo` seconds ago when given, and the queue made to agree.
    func markDeliveries(
        _ status: String = "failed",
        attempts: Int? = nil,
        changedSecondsAgo: Int? = nil,
        subscription: String? = nil,
        id: String? = nil
    ) async throws {
        try await query(
            """
            UPDATE deliveries SET status = \(status), delivery_attempts = coalesce(\(attempts)::int, delivery_attempts),
                updated_at = coalesce(now() - \(changedSecondsAgo)::int * interval '1 second', updated_at)
            WHERE (\(subscription)::text IS NULL OR subscription_id = \(subscription)) AND (\(id)::text IS NULL OR id = \(id))
            """
        )
        try await matchQueueToStatuses()
    }

    /// Every idempotency key expired, as if its time to live had passed.
    func expireIdempotencyKeys() async throws {
        try await query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
    }

    /// Every previous secret's grace period over.
    func endSecretGracePeriods() async throws {
        try await query("UPDATE subscriptions SET previous_secret_expires_at = now() - interval '1 second'")
    }

    /// Every lease ran out, as if its worker had died.
    func expireLeases() async throws {
        try await query("UPDATE delivery_queue SET leased_until = now() - interval '1 second'")
    }

    /// After a test wrote deliveries' status itself: the queue made to agree, as the record statement keeps it (a
    /// completed delivery leaves it, a failed one stays as failed, the attempts made are the delivery's).
    func matchQueueToStatuses() async throws {
        try await query(
            """
            WITH completed AS (
                DELETE FROM delivery_queue q USING deliveries d WHERE d.id = q.delivery_id AND d.status = 'completed'
            )
            UPDATE delivery_queue q SET status = d.status, leased_until = NULL, delivery_attempts = d.delivery_attempts
            FROM deliveries d
            WHERE d.id = q.delivery_id AND d.status <> 'completed' AND (q.status <> d.status OR q.delivery_attempts <> d.delivery_attempts)
            """
        )
    }

    /// One-day periods of time partitions that started `daysAgo` days ago (each), as if hammer had run then: the kept
    /// partitions (empty in a fresh database) end where the oldest starts. One statement per period, each well within
    /// the statement timeout however many there are.
    func addPastPeriods(daysAgo: [Int]) async throws {
        guard let oldest = daysAgo.max() else { return }
        try await query(
            """
            DO $$
            DECLARE
                v_table text;
            BEGIN
                FOREACH v_table IN ARRAY hammer_partitioned_tables() LOOP
                    EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', v_table, v_table || '_kept');
                    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', v_table, v_table || '_kept',
                        hammer_id_bound(date_trunc('day', (now() - \(unescaped: String(oldest)) * interval '1 day') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'));
                END LOOP;
            END
            $$
            """
        )
        for days in daysAgo.sorted(by: >) {
            try await query(
                """
                SELECT hammer_add_partition_period(s, s + interval '1 day')
                FROM (SELECT date_trunc('day', (now() - \(days) * interval '1 day') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS d(s)
                """
            )
        }
    }

    /// A one-day period of time partitions that started `daysAgo` days ago.
    func addPastPeriod(daysAgo: Int) async throws {
        try await addPastPeriods(daysAgo: [daysAgo])
    }

    /// Messages published to `topic` `daysAgo` days ago (ids of that time, fanned out as a publish does); their ids.
    func publishInThePast(daysAgo: Int, topic: String, count: Int) async throws -> [String] {
        try await query(
            """
            WITH m AS (
                INSERT INTO messages (id, topic_id, content_type, data, created_at)
                SELECT hammer_id_bound(t) || upper(substr(md5(random()::text), 1, 16)), \(topic), 'application/json', encode(convert_to('{"n":' || i || '}', 'UTF8'), 'base64'), t
                FROM generate_series(1, \(count)) i, LATERAL (SELECT now() - \(daysAgo) * interval '1 day' + i * interval '1 millisecond' AS t) ts
                RETURNING id, topic_id, created_at, event_type, octet_length(data) AS bytes
            )
            SELECT hammer_fan_out(array_agg(id), array_agg(topic_id::text), array_agg(created_at), array_agg(event_type::text), array_agg(bytes))
            FROM m
            """
        )
        return try await query("SELECT id FROM messages WHERE created_at < now() - interval '1 day' ORDER BY id").collect().map {
            try $0.decode(String.self)
        }
    }

    /// The tables (partitions included) whose name starts with `prefix`.
    func tables(named prefix: String) async throws -> [String] {
        try await query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE \(prefix + "%") ORDER BY 1")
            .collect().map { try $0.decode(String.self) }
    }

    /// The partitions left of the period `addPastPeriod(daysAgo:)` made.
    func partitionsOfPastPeriod(daysAgo: Int) async throws -> Int {
        try await count(
            """
            SELECT count(*) FROM unnest(hammer_partitioned_tables()) t
            WHERE to_regclass(hammer_partition_name(t, date_trunc('day', (now() - \(daysAgo) * interval '1 day') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'))
                IS NOT NULL
            """ as PostgresQuery
        )
    }
}
