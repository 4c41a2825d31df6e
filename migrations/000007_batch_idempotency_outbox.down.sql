DROP FUNCTION hammer_publish_message(text, text, bytea, text);
DROP PROCEDURE hammer_publish(text[], text[], text[], text[], text[], int[], text[], text[], text[], float8, text[], timestamptz[]);
DROP FUNCTION hammer_fan_out(text[], text[], timestamptz[], text[]);
DROP TABLE idempotency_keys;

-- migration 4's procedure, as it was
CREATE PROCEDURE hammer_publish(
    p_ids text[], p_topic_ids text[], p_content_types text[], p_data text[], p_event_types text[],
    INOUT p_created_ids text[] DEFAULT NULL, INOUT p_created_at timestamptz[] DEFAULT NULL
)
LANGUAGE plpgsql AS $$
BEGIN
    WITH input AS (
        SELECT * FROM unnest(p_ids, p_topic_ids, p_content_types, p_data, p_event_types) AS i(id, topic_id, content_type, data, event_type)
    ), message AS (
        INSERT INTO messages (id, topic_id, content_type, data, event_type)
        SELECT i.id, i.topic_id, i.content_type, i.data, nullif(i.event_type, '') FROM input i JOIN topics t ON t.id = i.topic_id
        RETURNING id, topic_id, created_at, hammer_event_type_patterns(event_type) AS patterns
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
    SELECT array_agg(m.id), array_agg(m.created_at) INTO p_created_ids, p_created_at
    FROM message m WHERE (SELECT count(*) FROM notified) >= 0;
    COMMIT;
END
$$;
