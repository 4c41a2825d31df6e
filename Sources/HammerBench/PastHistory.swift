import PostgresNIO

/// History made as if hammer had run `daysAgo` days ago, for the scenarios that drop it: a one-day period of time
/// partitions of that day (the kept partitions end where it starts), holding `messages` messages of `topic` fanned out
/// to its subscriptions. Every delivery has one attempt and is completed, but about one in `pendingEvery`, which is
/// pending, queued and due now.
enum PastHistory {
    static func statements(daysAgo: Int, topic: String, messages: Int, pendingEvery: Int) -> [PostgresQuery] {
        let day = "date_trunc('day', (now() - \(daysAgo) * interval '1 day') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        return [
            PostgresQuery(
                unsafeSQL: """
                    DO $$
                    DECLARE
                        v_start timestamptz := \(day);
                        v_table text;
                    BEGIN
                        FOREACH v_table IN ARRAY hammer_partitioned_tables() LOOP
                            EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', v_table, v_table || '_kept');
                            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', v_table, v_table || '_kept',
                                hammer_id_bound(v_start));
                        END LOOP;
                        PERFORM hammer_add_partition_period(v_start, v_start + interval '1 day');
                    END
                    $$
                    """
            ),
            """
            INSERT INTO messages (id, topic_id, content_type, data, created_at)
            SELECT hammer_id_bound(t) || upper(substr(md5(i::text), 1, 16)), \(topic), 'application/json', 'eyJoZWxsbyI6IndvcmxkIn0=', t
            FROM generate_series(1, \(messages)) i,
                LATERAL (SELECT \(unescaped: day) + i * (interval '1 day' / \(messages + 1)) AS t) ts
            """,
            """
            INSERT INTO deliveries (id, topic_id, subscription_id, message_id, url, max_delivery_attempts, delivery_attempt_delay,
                delivery_attempt_timeout, status, delivery_attempts, scheduled_at, created_at, updated_at)
            SELECT substr(m.id, 1, 10) || upper(substr(md5(m.id || s.id), 1, 16)), m.topic_id, s.id, m.id, s.url, 5, 1, 10,
                CASE WHEN abs(hashtext(m.id || s.id)) % \(pendingEvery) = 0 THEN 'pending' ELSE 'completed' END, 1, m.created_at, m.created_at,
                m.created_at
            FROM messages m JOIN subscriptions s ON s.topic_id = m.topic_id WHERE m.topic_id = \(topic)
            """,
            """
            INSERT INTO delivery_queue (delivery_id, subscription_id, scheduled_at, created_at, message_id, topic_id, delivery_attempts,
                message_bytes)
            SELECT d.id, d.subscription_id, now(), d.created_at, d.message_id, d.topic_id, d.delivery_attempts, octet_length(m.data)
            FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.topic_id = \(topic) AND d.status = 'pending'
            """,
            """
            INSERT INTO delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, created_at)
            SELECT substr(id, 1, 10) || upper(substr(md5(id || 'attempt'), 1, 16)), id,
                E'POST /hook HTTP/1.1\\r\\ncontent-type: application/json\\r\\nwebhook-id: ' || id, E'HTTP/1.1 500 Internal Server Error\\r\\n\\r\\n',
                500, 3, false, created_at
            FROM deliveries WHERE topic_id = \(topic)
            """,
            "ANALYZE",
        ]
    }

    /// How many partitions of that day's period are left.
    static func partitionsLeft(daysAgo: Int) -> PostgresQuery {
        """
        SELECT count(*) FROM unnest(hammer_partitioned_tables()) t
        WHERE to_regclass(hammer_partition_name(t, date_trunc('day', (now() - \(daysAgo) * interval '1 day') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'))
            IS NOT NULL
        """
    }
}
