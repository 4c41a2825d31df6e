-- Subscription delivery options (docs/delivery-options.md). Headers and auth are credentials: only single reads show them.
ALTER TABLE subscriptions
    ADD COLUMN http_method varchar(8) NOT NULL DEFAULT 'POST' CHECK (http_method IN ('POST', 'PUT', 'PATCH')),
    ADD COLUMN headers jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN auth jsonb,
    ADD COLUMN payload_format varchar(16) NOT NULL DEFAULT 'cloudevents' CHECK (payload_format IN ('cloudevents', 'raw', 'template')),
    ADD COLUMN payload_template text,
    ADD COLUMN payload_content_type text NOT NULL DEFAULT 'application/json',
    ADD COLUMN event_types text[] NOT NULL DEFAULT '{}',
    ADD COLUMN previous_secret_token text,
    ADD COLUMN previous_secret_expires_at timestamptz;

ALTER TABLE messages ADD COLUMN event_type varchar(255);

-- Pending deliveries follow their subscription: the claim reads the secrets (and every other setting) from it,
-- so no copy of a secret is kept per delivery.
ALTER TABLE deliveries DROP COLUMN secret_token;

-- The filter patterns an event type matches: itself, each dotted prefix as `prefix.*`, and `*`
-- ('invoice.paid.v2' → {invoice.*, invoice.paid.*, invoice.paid.v2, *}); none for a message without one.
-- A subscription receives a message when its event_types is empty or overlaps these (`&&`).
CREATE FUNCTION hammer_event_type_patterns(event_type text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN event_type IS NULL THEN '{}'::text[] ELSE
        ARRAY(
            SELECT array_to_string(parts[1:n], '.') || '.*'
            FROM (SELECT string_to_array(event_type, '.') AS parts) p, generate_series(1, cardinality(p.parts) - 1) AS n
        ) || ARRAY[event_type, '*']
    END
$$;

DROP PROCEDURE hammer_publish(text[], text[], text[], text[], text[], timestamptz[]);

-- As in migration 2, with each message's event_type and the subscriptions' event-type filters applied in the
-- same statement (one array overlap per subscription of the topic; no round trip per subscription). An empty
-- event type is none (array parameters cannot carry NULLs from the client).
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
