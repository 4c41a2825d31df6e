import Foundation
import Hammer
import PostgresNIO
import Testing

/// Migrations 9 (byte-order ids, the status index without completed deliveries) and 10 (the delivery queue) on a
/// database that already holds deliveries in every state, attempts and callbacks: nothing is lost, lists keep their
/// order, and down restores it.
@Suite struct MigrationUpgradeTests {
    @Test func byteOrderIdsUpgradeAPopulatedDatabase() async throws {
        try await withPopulatedVersion8 { client, migrator, migrations in
            let before = try await snapshot(client)
            let indexesBefore = try await indexes(client)
            #expect(before.count == 8)
            #expect(before["deliveries"]?.count == 300)

            try await migrator.up(migrations.filter { $0.version <= 9 })
            #expect(try await migrator.state().version == 9)
            #expect(try await snapshot(client) == before)
            let collations = try await client.query(
                """
                SELECT table_name || '.' || column_name, coalesce(collation_name, '') FROM information_schema.columns
                WHERE table_schema = 'public' AND (column_name = 'id' OR column_name LIKE '%\\_id' ESCAPE '\\')
                    AND data_type = 'character varying' AND table_name <> 'idempotency_keys'
                """
            ).collect().map { try $0.decode((String, String).self) }
            #expect(collations.count == 16, "\(collations)")
            #expect(collations.allSatisfy { $0.1 == "C" }, "\(collations)")
            #expect(
                try await plan(client, analyzing: "deliveries", "SELECT id FROM deliveries WHERE status = 'failed' ORDER BY created_at, id LIMIT 25")
                    .contains("deliveries_unfinished_status_created_at_id_idx")
            )

            try await migrator.down(migrations.filter { $0.version <= 9 }, steps: 1)
            #expect(try await migrator.state().version == 8)
            let restored = try await snapshot(client)
            #expect(restored["topics"] == before["topics"])
            #expect(restored["messages"] == before["messages"])
            #expect(try await indexes(client) == indexesBefore)
        }
    }

    @Test func theDeliveryQueueUpgradesAPopulatedDatabase() async throws {
        try await withPopulatedVersion8 { client, migrator, migrations in
            try await migrator.up(migrations.filter { $0.version <= 9 })
            let before = try await snapshot(client, without: "leased_until")
            let indexesBefore = try await indexes(client)
            let unfinished = try await queueOf(
                client,
                "SELECT id, subscription_id, status, scheduled_at, created_at, leased_until FROM deliveries"
            )
            #expect(unfinished.count == 200 && unfinished.filter { $0.hasSuffix("|-") }.count == 150, "\(unfinished.prefix(3))")

            try await migrator.up(migrations.filter { $0.version <= 10 })
            #expect(try await migrator.state().version == 10)
            #expect(try await snapshot(client, without: "leased_until") == before)
            // Every pending and failed delivery is queued with its lease; deliveries keep none.
            #expect(
                try await queueOf(
                    client,
                    "SELECT delivery_id, subscription_id, status, scheduled_at, created_at, leased_until FROM delivery_queue"
                )
                    == unfinished
            )
            #expect(try await client.count("SELECT count(*) FROM deliveries WHERE leased_until IS NOT NULL") == 0)
            // The API's list of failed deliveries reads the queue's index, in the same order as before.
            let store = Store(client: client, logger: TestDatabase.logger)
            var filter = ListFilter(limit: 1000)
            filter.equals = [("status", "failed")]
            #expect(try await store.deliveries(filter).map(\.id) == before["failed deliveries"])
            #expect(
                try await plan(
                    client,
                    analyzing: "delivery_queue",
                    """
                    SELECT d.id FROM delivery_queue q JOIN deliveries d ON d.id = q.delivery_id
                    WHERE q.status = 'failed' ORDER BY q.created_at, d.id LIMIT 25
                    """
                ).contains("delivery_queue_status_created_at_id_idx")
            )

            // On the newest schema (this build's code needs it), a publish is queued; a claim and a completion go
            // through the queue.
            try await migrator.up(migrations)
            try await client.query("SELECT hammer_publish_message('billing', 'application/json', '{}'::bytea)")
            #expect(try await client.rowCount(.deliveryQueue) == 203)
            let queue = DeliveryQueue(client: client, logger: TestDatabase.logger)
            // The populated callbacks come first in a claim; the deliveries after them.
            let claimed = try await queue.claim(limit: 40, leaseMargin: .seconds(30), maxInFlight: 10).deliveries.filter {
                !$0.isCallback
            }
            let first = try #require(claimed.first)
            try await queue.record([DeliveryOutcome.completion(of: first)])
            #expect(try await store.delivery(id: first.id).status == .completed)
            #expect(try await client.count("SELECT count(*) FROM delivery_queue WHERE delivery_id = '\(first.id)'") == 0)

            try await migrator.down(migrations, steps: migrations.filter { $0.version > 9 }.count)
            #expect(try await migrator.state().version == 9)
            // The leases are back on the deliveries still pending.
            #expect(
                try await client.count("SELECT count(*) FROM deliveries WHERE status = 'pending' AND leased_until > now()") == claimed.count - 1
                    + 50
            )
            #expect(try await indexes(client) == indexesBefore)
            #expect(try await client.count("SELECT count(*) FROM pg_tables WHERE tablename = 'delivery_queue'") == 0)
        }
    }

    @Test func timePartitionsUpgradeAPopulatedDatabaseAndDownRestoresIt() async throws {
        try await withPopulatedVersion8 { client, migrator, migrations in
            try await migrator.up(migrations.filter { $0.version <= 12 })
            try await client.query(
                """
                INSERT INTO idempotency_keys (scope, key, request_hash, message_ids, expires_at)
                SELECT '', 'k', 'h', ARRAY[min(id)], now() + interval '1 day' FROM messages
                """
            )
            try await client.query("UPDATE subscriptions SET ordered = true WHERE id = 'accounts'")
            // A message 45 days old, with an id of its time (the first 10 characters of a ULID are its milliseconds).
            try await client.query(
                """
                INSERT INTO messages (id, topic_id, content_type, data, created_at)
                SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((ms >> (i * 5)) & 31)::int + 1, 1), '' ORDER BY i DESC)
                    || 'OLDMESSAGE000000', 'billing', 'application/json', 'e30=', now() - interval '45 days'
                FROM (SELECT floor(extract(epoch FROM now() - interval '45 days') * 1000)::bigint AS ms) m, generate_series(0, 9) AS i
                """
            )
            let before = try await snapshot(client)
            let queueBefore = try await queueOf(
                client,
                "SELECT delivery_id, subscription_id, status, scheduled_at, created_at, leased_until FROM delivery_queue"
            )
            let indexesBefore = try await indexes(client)

            try await migrator.up(migrations.filter { $0.version <= 13 })
            #expect(try await migrator.state().version == 13)
            #expect(try await snapshot(client) == before)
            #expect(
                try await queueOf(client, "SELECT delivery_id, subscription_id, status, scheduled_at, created_at, leased_until FROM delivery_queue")
                    == queueBefore
            )
            #expect(try await client.rowCount(.idempotencyKeys) == 1)
            // Every row is in a period's partition (none fell into a kept one), and periods are there ahead.
            for table in ["messages", "deliveries", "delivery_attempts", "callbacks", "callback_attempts"] {
                #expect(try await client.count("SELECT count(*) FROM \(table)_kept") == 0)
                #expect(
                    try await client.count(
                        "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname = '\(table)'"
                    ) == 1
                )
            }
            #expect(try await client.count("SELECT count(*) FROM partition_periods WHERE ends_at >= now() + interval '2 days'") >= 1)
            // The rows already there before the current day get periods of 30 days: the old message is in one.
            #expect(
                try await client.count(
                    """
                    SELECT count(*) FROM messages m JOIN partition_periods p
                        ON m.id >= hammer_id_bound(p.starts_at) AND m.id < hammer_id_bound(p.ends_at)
                    WHERE m.created_at < now() - interval '40 days' AND p.ends_at - p.starts_at = interval '30 days'
                        AND m.tableoid::regclass::text = hammer_partition_name('messages', p.starts_at)
                    """
                ) == 1
            )
            // The indexes the API's lists read are on every partition, under the names they had.
            let names = try await indexes(client).map { String($0.prefix { $0 != ":" }) }
            for index in indexesBefore.map({ String($0.prefix { $0 != ":" }) }) where !index.contains("delivery_queue") {
                #expect(names.contains(index), "\(index)")
            }
            // Migration 14: every queue row carries its delivery's keys, attempts and message size; pending callbacks
            // wait in their own queue.
            try await migrator.up(migrations.filter { $0.version <= 14 })
            #expect(
                try await client.count(
                    """
                    SELECT count(*) FROM delivery_queue q JOIN deliveries d ON d.id = q.delivery_id JOIN messages m ON m.id = d.message_id
                    WHERE q.message_id = d.message_id AND q.topic_id = d.topic_id AND q.delivery_attempts = d.delivery_attempts
                        AND q.message_bytes = octet_length(m.data)
                    """
                ) == queueBefore.count
            )
            #expect(try await client.rowCount(.deliveryQueue) == queueBefore.count)
            let pendingCallbacks = try await client.count("SELECT count(*) FROM callbacks WHERE status = 'pending'")
            #expect(pendingCallbacks > 0)
            #expect(try await client.count("SELECT count(*) FROM callback_queue q JOIN callbacks c ON c.id = q.callback_id") == pendingCallbacks)

            // The app's own statements work on it: a claim and a completion.
            let queue = DeliveryQueue(client: client, logger: TestDatabase.logger)
            let claimed = try #require(
                try await queue.claim(limit: 40, leaseMargin: .seconds(30), maxInFlight: 10).deliveries.first { !$0.isCallback }
            )
            try await queue.record([DeliveryOutcome.completion(of: claimed)])
            let store = Store(client: client, logger: TestDatabase.logger)
            #expect(try await store.delivery(id: claimed.id).status == .completed)

            try await migrator.down(migrations.filter { $0.version <= 14 }, steps: 1)
            #expect(try await migrator.state().version == 13)
            #expect(try await client.count("SELECT count(*) FROM pg_tables WHERE tablename = 'callback_queue'") == 0)
            #expect(try await client.count("SELECT count(*) FROM callbacks WHERE status = 'pending'") == pendingCallbacks)
            try await migrator.down(migrations.filter { $0.version <= 13 }, steps: 1)
            #expect(try await migrator.state().version == 12)
            #expect(try await indexes(client) == indexesBefore)
            #expect(try await client.count("SELECT count(*) FROM pg_partitioned_table") == 0)
            #expect(
                try await client.count("SELECT count(*) FROM deliveries WHERE status = 'completed'") == before["deliveries"].map { rows in
                    rows.filter { $0.contains(",completed,") }.count + 1
                } ?? -1
            )
            #expect(try await client.rowCount(.deliveryAttempts) == before["delivery_attempts"]!.count + 1)
            #expect(
                try await client.count(
                    "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conname IN ('deliveries_message_id_fkey', 'delivery_attempts_delivery_id_fkey', 'delivery_queue_delivery_id_fkey', 'callback_attempts_callback_id_fkey')"
                ) == 4
            )
        }
    }

    /// Rows of `query` (id, subscription, status, scheduled_at, created_at, leased_until) of pending and failed
    /// deliveries, as text in id order; `-` for no lease.
    private func queueOf(_ client: PostgresClient, _ query: String) async throws -> [String] {
        try await client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT concat_ws('|', r.*) || CASE WHEN r.leased_until IS NULL THEN '|-' ELSE '' END
                    FROM (\(query)) AS r(id, subscription_id, status, scheduled_at, created_at, leased_until)
                    WHERE r.status <> 'completed' ORDER BY r.id
                    """
            )
        ).collect().map { try $0.decode(String.self) }
    }

    /// 3 subscriptions × 100 messages: deliveries pending (some leased), completed and failed, an attempt each for
    /// those attempted, and a callback per failed delivery.
    private func populate(_ client: PostgresClient) async throws {
        let statements: [PostgresQuery] = [
            "INSERT INTO topics (id, name) VALUES ('billing', 'Billing'), ('Shipping.v2', 'Shipping')",
            """
            INSERT INTO subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay,
                delivery_attempt_timeout, callback_url)
            SELECT s, 'billing', s, 'http://127.0.0.1:1/' || s, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 3, 1, 5, 'http://127.0.0.1:1/cb'
            FROM unnest(ARRAY['accounts', 'Audit-Log', 'audit.v2']) AS s
            """,
            "INSERT INTO messages (id, topic_id, content_type, data) SELECT hammer_ulid(), 'billing', 'application/json', 'e30=' FROM generate_series(1, 100)",
            """
            INSERT INTO deliveries (id, topic_id, subscription_id, message_id, url, max_delivery_attempts, delivery_attempt_delay,
                delivery_attempt_timeout, status, delivery_attempts, leased_until, created_at)
            SELECT substr(m.id, 1, 10) || upper(substr(md5(s.id || m.id), 1, 16)), 'billing', s.id, m.id, s.url, 3, 1, 5,
                (ARRAY['pending', 'completed', 'failed'])[1 + (row_number() OVER ()) % 3], (row_number() OVER ()) % 3,
                CASE WHEN (row_number() OVER ()) % 6 = 0 THEN now() + interval '1 minute' END, m.created_at
            FROM messages m CROSS JOIN subscriptions s
            """,
            """
            INSERT INTO delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success)
            SELECT hammer_ulid(), id, 'POST / HTTP/1.1', 'HTTP/1.1 200 OK', 200, 1, status = 'completed' FROM deliveries WHERE status <> 'pending'
            """,
            """
            INSERT INTO callbacks (id, subscription_id, type, delivery_id, url, body)
            SELECT hammer_ulid(), subscription_id, 'delivery.failed', id, 'http://127.0.0.1:1/cb', '{}' FROM deliveries WHERE status = 'failed'
            """,
            """
            INSERT INTO callback_attempts (id, callback_id, request, response, response_status_code, execution_duration, success)
            SELECT hammer_ulid(), id, 'POST /cb HTTP/1.1', '', 0, 1, false FROM callbacks
            """,
        ]
        for statement in statements { try await client.query(statement) }
    }

    /// Every row of the id-bearing tables in list order (created_at, id), as text; deliveries without the column
    /// `without` when given.
    private func snapshot(_ client: PostgresClient, without column: String? = nil) async throws -> [String: [String]] {
        var tables: [String: [String]] = [:]
        for table in ["topics", "subscriptions", "messages", "deliveries", "delivery_attempts", "callbacks", "callback_attempts"] {
            let row = column.map { table == "deliveries" ? "(to_jsonb(t) - '\($0)')::text" : "t::text" } ?? "t::text"
            tables[table] = try await client.query(
                PostgresQuery(unsafeSQL: "SELECT \(row) FROM \(table) t ORDER BY created_at, id")
            ).collect().map { try $0.decode(String.self) }
        }
        tables["failed deliveries"] = try await client.query("SELECT id FROM deliveries WHERE status = 'failed' ORDER BY created_at, id")
            .collect().map { try $0.decode(String.self) }
        return tables
    }

    /// Every index of the public schema with its definition, by name: what a down migration must restore exactly
    /// (a plan would not show it: among indexes of similar cost the planner's choice follows the table's statistics).
    private func indexes(_ client: PostgresClient) async throws -> [String] {
        try await client.query("SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname")
            .collect().map { try $0.decode(String.self) }
    }

    /// The plan of `query` with fresh statistics of `table` (the choice among indexes depends on them, and
    /// autovacuum's ANALYZE may or may not have run since the migration), sequential scans off.
    private func plan(_ client: PostgresClient, analyzing table: String, _ query: String) async throws -> String {
        try await client.withConnection { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "ANALYZE \(table)"), logger: TestDatabase.logger)
            try await connection.query("SET enable_seqscan = off", logger: TestDatabase.logger)
            return try await connection.query(PostgresQuery(unsafeSQL: "EXPLAIN \(query)"), logger: TestDatabase.logger)
                .collect().map { try $0.decode(String.self) }.joined(separator: "\n")
        }
    }

    /// `body` on a fresh database migrated to version 8 and populated (below), with its migrator and every migration.
    private func withPopulatedVersion8(_ body: (PostgresClient, Migrator, [Migration]) async throws -> Void) async throws {
        try await TestDatabase.withEmptyDatabase { url in
            try await TestDatabase.withClient(url) { client in
                let migrator = Migrator(client: client, logger: TestDatabase.logger)
                let migrations = try Migrator.load(directory: TestDatabase.migrationsPath)
                try await migrator.up(migrations.filter { $0.version <= 8 })
                try await populate(client)
                try await body(client, migrator, migrations)
            }
        }
    }
}
