CREATE OR REPLACE FUNCTION hammer_fan_out(p_message_ids text[], p_topic_ids text[], p_created_at timestamptz[], p_event_types text[])
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_count bigint;
BEGIN
    WITH message AS (
        SELECT m.*, hammer_event_type_patterns(m.event_type) AS patterns
        FROM unnest(p_message_ids, p_topic_ids, p_created_at, p_event_types) AS m(id, topic_id, created_at, event_type)
    ), delivery AS (
        -- A delivery id is its message's ULID time prefix and 64 random bits (hex, a subset of Crockford base32).
        INSERT INTO deliveries (
            id, topic_id, subscription_id, message_id, url,
            max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, scheduled_at, created_at, updated_at)
        SELECT substr(m.id, 1, 10) || upper(substr(md5(gen_random_uuid()::text), 1, 16)), s.topic_id, s.id, m.id, s.url,
            s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout, m.created_at, m.created_at, m.created_at
        FROM message m JOIN subscriptions s ON s.topic_id = m.topic_id
        WHERE cardinality(s.event_types) = 0 OR s.event_types && m.patterns
        RETURNING 1
    ), notified AS (
        SELECT pg_notify('hammer_deliveries', '') WHERE EXISTS (SELECT 1 FROM delivery)
    )
    SELECT count(*) INTO v_count FROM delivery WHERE (SELECT count(*) FROM notified) >= 0;
    RETURN v_count;
END
$$;

UPDATE deliveries d SET leased_until = q.leased_until FROM delivery_queue q WHERE q.delivery_id = d.id AND q.leased_until IS NOT NULL;

CREATE INDEX deliveries_pending_subscription_id_scheduled_at_idx ON deliveries (subscription_id, scheduled_at) WHERE status = 'pending';
CREATE INDEX deliveries_pending_subscription_id_created_at_id_idx ON deliveries (subscription_id, created_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_unfinished_status_created_at_id_idx ON deliveries (status, created_at, id) WHERE status <> 'completed';

DROP TABLE delivery_queue;
