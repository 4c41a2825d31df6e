DROP PROCEDURE hammer_publish(text[], text[], text[], text[], text[], text[], timestamptz[]);
DROP FUNCTION hammer_event_type_patterns(text);
ALTER TABLE deliveries ADD COLUMN secret_token text NOT NULL DEFAULT '';
UPDATE deliveries d SET secret_token = s.secret_token FROM subscriptions s WHERE s.id = d.subscription_id;
ALTER TABLE deliveries ALTER COLUMN secret_token DROP DEFAULT;
ALTER TABLE messages DROP COLUMN event_type;
ALTER TABLE subscriptions
    DROP COLUMN http_method,
    DROP COLUMN headers,
    DROP COLUMN auth,
    DROP COLUMN payload_format,
    DROP COLUMN payload_template,
    DROP COLUMN payload_content_type,
    DROP COLUMN event_types,
    DROP COLUMN previous_secret_token,
    DROP COLUMN previous_secret_expires_at;

-- migration 2's procedure, as it was
CREATE PROCEDURE hammer_publish(
    p_ids text[], p_topic_ids text[], p_content_types text[], p_data text[],
    INOUT p_created_ids text[] DEFAULT NULL, INOUT p_created_at timestamptz[] DEFAULT NULL
)
LANGUAGE plpgsql AS $$
BEGIN
    WITH input AS (
        SELECT * FROM unnest(p_ids, p_topic_ids, p_content_types, p_data) AS i(id, topic_id, content_type, data)
    ), message AS (
        INSERT INTO messages (id, topic_id, content_type, data)
        SELECT i.id, i.topic_id, i.content_type, i.data FROM input i JOIN topics t ON t.id = i.topic_id
        RETURNING id, topic_id, created_at
    ), delivery AS (
        -- A delivery id is its message's ULID time prefix and 64 random bits (hex, a subset of Crockford base32).
        INSERT INTO deliveries (
            id, topic_id, subscription_id, message_id, url, secret_token,
            max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, scheduled_at, created_at, updated_at)
        SELECT substr(m.id, 1, 10) || upper(substr(md5(gen_random_uuid()::text), 1, 16)), s.topic_id, s.id, m.id, s.url, s.secret_token,
            s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout, m.created_at, m.created_at, m.created_at
        FROM message m JOIN subscriptions s ON s.topic_id = m.topic_id
        RETURNING 1
    ), notified AS (
        SELECT pg_notify('hammer_deliveries', '') WHERE EXISTS (SELECT 1 FROM delivery)
    )
    SELECT array_agg(m.id), array_agg(m.created_at) INTO p_created_ids, p_created_at
    FROM message m WHERE (SELECT count(*) FROM notified) >= 0;
    COMMIT;
END
$$;
