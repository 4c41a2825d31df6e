import Foundation
import Hammer
import PostgresNIO
import Testing

/// Time partitions and retention (docs/storage.md) on a real database: partitions are there ahead and a write past
/// them makes more, retention drops whole partitions and keeps the live work in them with its ids and data.
@Suite struct PartitionTests {
    @Test func migrateMakesPartitionsAheadAndAWriteWithNoneMakesThem() async throws {
        try await TestApp.run { api, store in
            let database = store.client
            // The current day and at least two more, for every partitioned table.
            #expect(try await database.count("SELECT count(*) FROM partition_periods WHERE ends_at >= now() + interval '2 days'") >= 1)
            #expect(try await database.count("SELECT count(*) FROM partition_periods WHERE starts_at <= now() AND ends_at > now()") == 1)
            #expect(try await database.tables(named: "messages_p").count == (try await database.rowCount(.partitionPeriods)))

            // No worker for weeks: every partition from today on is gone, as if their time had come with none made.
            try await database.addPastPeriod(daysAgo: 40)
            try await database.query(
                """
                DO $$
                DECLARE p record; t text;
                BEGIN
                    FOR p IN SELECT starts_at FROM partition_periods WHERE ends_at > now() LOOP
                        FOREACH t IN ARRAY hammer_partitioned_tables() LOOP
                            EXECUTE format('DROP TABLE %I', hammer_partition_name(t, p.starts_at));
                        END LOOP;
                        DELETE FROM partition_periods WHERE starts_at = p.starts_at;
                    END LOOP;
                END
                $$
                """
            )
            try await api.createTopic("orders")
            try await api.createSubscription("a", topic: "orders")
            let published = try await api.publish(topic: "orders")
            #expect(published.status == .ok, "\(published.text)")
            let id = try #require(published["id"] as? String)
            #expect(try await api.send(.get, "/v1/messages/\(id)").status == .ok)
            #expect(try await database.rowCount(.deliveries) == 1)
            // The time since the last period is one period, and the current one and those ahead follow it.
            #expect(try await database.count("SELECT count(*) FROM partition_periods WHERE starts_at <= now() AND ends_at > now()") == 1)
            #expect(try await database.count("SELECT count(*) FROM partition_periods WHERE ends_at >= now() + interval '2 days'") >= 1)
        }
    }

    /// A partition is dropped after its detach, in a transaction of its own; a run that stopped in between leaves it
    /// detached, and the next run drops it and its period.
    @Test func aPartitionLeftDetachedByAStoppedRunIsDroppedByTheNext() async throws {
        try await TestApp.run { api, store in
            let database = store.client
            try await database.addPastPeriods(daysAgo: [40, 35])
            try await api.createTopic("orders")
            try await api.createSubscription("a", topic: "orders")
            _ = try await database.publishInThePast(daysAgo: 40, topic: "orders", count: 2)
            let detached = "SELECT count(*) FROM pg_class WHERE relname LIKE 'delivery_attempts_p%' AND relkind = 'r' AND NOT relispartition"
            try await database.query("SELECT hammer_drop_partition('delivery_attempts', min(starts_at)) FROM partition_periods")
            #expect(try await database.count(detached) == 1)
            #expect(try await database.partitionsOfPastPeriod(daysAgo: 40) == 5)

            let dropped = try await store.dropPartitions(endingBy: Date().addingTimeInterval(-37 * 86400))
            #expect(dropped.periods == 1)
            #expect(dropped.stoppedBecause == nil)
            #expect(try await database.count(detached) == 0)
            #expect(try await database.partitionsOfPastPeriod(daysAgo: 40) == 0)
            #expect(try await database.count("SELECT count(*) FROM partition_periods WHERE starts_at < now() - interval '39 days'") == 0)
        }
    }

    @Test func retentionDropsWholePartitionsAndKeepsLiveWorkWithItsIdsAndData() async throws {
        try await TestApp.run { api, store in
            let database = store.client
            try await database.addPastPeriods(daysAgo: [40, 35])
            #expect(try await database.partitionsOfPastPeriod(daysAgo: 40) == 5)
            try await api.createTopic("orders")
            try await api.createSubscription("a", topic: "orders")
            try await api.createSubscription("b", topic: "orders")
            let old = try await database.publishInThePast(daysAgo: 40, topic: "orders", count: 3)
            #expect(old.count == 3)
            let fresh = try #require(try await api.publish(topic: "orders")["id"] as? String)
            // Of the old deliveries, b's of the first message stays pending; a's of the second failed; the others completed.
            try await database.query(
                """
                UPDATE deliveries SET status = CASE
                    WHEN message_id = \(old[0]) AND subscription_id = 'b' THEN 'pending'
                    WHEN message_id = \(old[1]) AND subscription_id = 'a' THEN 'failed'
                    ELSE 'completed' END
                WHERE message_id = ANY(\(old))
                """
            )
            try await database.matchQueueToStatuses()
            try await database.query(
                """
                INSERT INTO delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, created_at)
                SELECT substr(id, 1, 10) || upper(substr(md5(id), 1, 16)), id, 'POST / HTTP/1.1', 'HTTP/1.1 500', 500, 1, false, created_at
                FROM deliveries WHERE message_id = ANY(\(old))
                """
            )
            try await database.query(
                """
                INSERT INTO callbacks (id, subscription_id, type, url, body, status, created_at)
                SELECT substr(\(old[0]), 1, 10) || upper(substr(md5(s), 1, 16)), 'a', 'subscription.disabled', 'http://127.0.0.1:1/cb', '{}', s,
                    now() - interval '40 days'
                FROM (VALUES ('pending'), ('completed')) v(s)
                """
            )
            try await database.query(
                """
                INSERT INTO callback_queue (callback_id, subscription_id, type, scheduled_at, created_at)
                SELECT id, subscription_id, type, scheduled_at, created_at FROM callbacks WHERE status = 'pending'
                """
            )
            let pendingID = try await database.only("SELECT id FROM deliveries WHERE status = 'pending' AND message_id = ANY(\(old))")
            let messageBefore = try await api.send(.get, "/v1/messages/\(old[0])")
            let deliveryBefore = try await api.send(.get, "/v1/deliveries/\(pendingID)")
            #expect(deliveryBefore.status == .ok)

            let dropped = try await store.dropPartitions(endingBy: Date().addingTimeInterval(-37 * 86400))
            #expect(dropped.periods == 1)
            #expect(dropped.bytes > 0)
            #expect(dropped.stoppedBecause == nil)
            #expect(try await database.partitionsOfPastPeriod(daysAgo: 40) == 0)

            // The live work is where it was for the API: same ids, same data.
            #expect(try await api.send(.get, "/v1/messages/\(old[0])").text == messageBefore.text)
            #expect(try await api.send(.get, "/v1/deliveries/\(pendingID)").text == deliveryBefore.text)
            // Finished history went with its partition, attempts of the kept delivery too.
            for id in old.dropFirst() { #expect(try await api.send(.get, "/v1/messages/\(id)").status == .notFound) }
            #expect(try await database.count("SELECT count(*) FROM deliveries WHERE message_id = ANY(\(old))" as PostgresQuery) == 1)
            #expect(try await database.rowCount(.deliveryAttempts) == 0)
            #expect(try await database.count("SELECT count(*) FROM delivery_queue WHERE status = 'failed'") == 0)
            #expect(try await database.count("SELECT count(*) FROM callbacks WHERE status = 'pending'") == 1)
            #expect(try await database.rowCount(.callbacks) == 1)
            // Today's message is untouched, and publishing goes on.
            #expect(try await api.send(.get, "/v1/messages/\(fresh)").status == .ok)
            #expect(try await database.count("SELECT count(*) FROM deliveries WHERE message_id = \(fresh)" as PostgresQuery) == 2)
            #expect(try await api.publish(topic: "orders").status == .ok)

            // The kept delivery is claimed, sent and recorded as any other; the next period dropped lets it go then, with
            // its message, while the callback still pending stays.
            let queue = DeliveryQueue(client: database, logger: TestDatabase.logger)
            let claimed = try await queue.claim(limit: 100, leaseMargin: .seconds(30), maxInFlight: 100).deliveries
            let kept = try #require(claimed.first { $0.id == pendingID })
            #expect(kept.messageID == old[0])
            try await queue.record([DeliveryOutcome.completion(of: kept)])
            #expect(try await api.send(.get, "/v1/deliveries/\(pendingID)").decode(Wire.Delivery.self).status == "completed")
            let second = try await store.dropPartitions(endingBy: Date().addingTimeInterval(-30 * 86400))
            #expect(second.periods == 1)
            #expect(try await database.partitionsOfPastPeriod(daysAgo: 35) == 0)
            #expect(try await api.send(.get, "/v1/deliveries/\(pendingID)").status == .notFound)
            #expect(try await api.send(.get, "/v1/messages/\(old[0])").status == .notFound)
            #expect(try await database.count("SELECT count(*) FROM callbacks WHERE status = 'pending'") == 1)
            // Today's period and those ahead are never dropped, whatever the cutoff.
            #expect(try await store.dropPartitions(endingBy: Date().addingTimeInterval(30 * 86400)).periods == 0)
            #expect(try await api.publish(topic: "orders").status == .ok)
        }
    }

    @Test func theWorkersUpkeepMakesPartitionsOfItsIntervalAndDropsPastTheRetention() async throws {
        try await TestApp.run { api, store in
            let database = store.client
            try await database.addPastPeriod(daysAgo: 40)
            try await api.createTopic("orders")
            try await api.createSubscription("a", topic: "orders")
            _ = try await database.publishInThePast(daysAgo: 40, topic: "orders", count: 2)
            let upkeep = StorageMaintenance(
                store: store,
                partitioning: Partitioning(interval: .seconds(3600), retention: .seconds(30 * 86400)),
                logger: TestDatabase.logger
            )
            let newestBefore = try await database.only("SELECT hammer_timestamp(max(ends_at)) FROM partition_periods")
            await upkeep.round(now: Date().addingTimeInterval(5 * 86400))
            // Retention: the past period went; its pending deliveries (nothing was sent) were kept.
            #expect(try await database.partitionsOfPastPeriod(daysAgo: 40) == 0)
            #expect(try await database.count("SELECT count(*) FROM deliveries WHERE created_at < now() - interval '1 day'") == 2)
            // Ahead: hourly periods after the newest daily one, up to the round's time and two intervals more.
            #expect(try await database.count("SELECT count(*) FROM partition_periods WHERE ends_at - starts_at = interval '1 hour'") > 0)
            #expect(try await database.count("SELECT count(*) FROM partition_periods WHERE ends_at >= now() + interval '5 days 2 hours'") >= 1)
            #expect(
                try await database.only(
                    "SELECT hammer_timestamp(min(starts_at)) FROM partition_periods WHERE ends_at - starts_at = interval '1 hour'"
                ) == newestBefore
            )
        }
    }
}
