-- Publishing (docs/publishing.md): idempotency keys, all-or-nothing batches in the group commit, and an outbox function.

-- A publish's key, written in the same transaction as its messages: a key never exists without its messages, nor
-- the reverse. `scope` is a hash of the caller's API key ('' without auth), so keys of different callers never meet.
CREATE TABLE idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    -- SHA-256 of what was asked (endpoint and messages): the same key with another request is a mismatch
    request_hash text NOT NULL,
    -- the messages it created, in request order: a replay answers them again
    message_ids text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);

-- The fan-out, the one implementation shared by the API's procedure and the outbox function: one pending delivery per
-- subscription of each message's topic whose event-type filter takes it; workers are notified (at COMMIT).
-- PL/pgSQL rather than SQL: its plan is cached per session, where a SQL function's would be planned at every call.
CREATE FUNCTION hammer_fan_out(p_message_ids text[], p_topic_ids text[], p_created_at timestamptz[], p_event_types text[])
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

DROP PROCEDURE hammer_publish(text[], text[], text[], text[], text[], text[], timestamptz[]);

-- Publishes groups of messages in one transaction and commits before it answers (see migration 2). A group is one
-- API request: a single publish or a whole batch. A group is written entirely or not at all: not when one of its
-- topics does not exist, nor when its idempotency key (scope, key, hash; '' for none) is already taken by a live key.
-- Returns the created ids and created_at; a group whose ids are missing was not written.
CREATE PROCEDURE hammer_publish(
    p_ids text[], p_topic_ids text[], p_content_types text[], p_data text[], p_event_types text[], p_groups int[],
    p_key_scopes text[], p_keys text[], p_key_hashes text[], p_key_ttl_seconds float8,
    INOUT p_created_ids text[] DEFAULT NULL, INOUT p_created_at timestamptz[] DEFAULT NULL
)
LANGUAGE plpgsql AS $$
DECLARE
    v_topic_ids text[];
    v_event_types text[];
BEGIN
    WITH input AS (
        SELECT * FROM unnest(p_ids, p_topic_ids, p_content_types, p_data, p_event_types, p_groups, p_key_scopes, p_keys, p_key_hashes)
            WITH ORDINALITY AS i(id, topic_id, content_type, data, event_type, grp, key_scope, key, key_hash, position)
    ), unknown_topic AS (
        SELECT DISTINCT i.grp FROM input i WHERE NOT EXISTS (SELECT 1 FROM topics t WHERE t.id = i.topic_id)
    ), keyed AS (
        -- One group per key (two requests with one key in one CALL: the first goes ahead).
        SELECT DISTINCT ON (g.key_scope, g.key) g.* FROM (
            SELECT grp, min(key_scope) AS key_scope, min(key) AS key, min(key_hash) AS key_hash, array_agg(id ORDER BY position) AS ids
            FROM input
            WHERE key <> '' AND grp NOT IN (SELECT grp FROM unknown_topic)
            GROUP BY grp
        ) g
        ORDER BY g.key_scope, g.key, g.grp
    ), key_taken AS (
        -- An expired key is replaced; a live one (even one committed a moment ago by another server) keeps its group
        -- from being written.
        INSERT INTO idempotency_keys (scope, key, request_hash, message_ids, expires_at)
        SELECT key_scope, key, key_hash, ids, now() + p_key_ttl_seconds * interval '1 second' FROM keyed
        ON CONFLICT (scope, key) DO UPDATE
            SET request_hash = EXCLUDED.request_hash, message_ids = EXCLUDED.message_ids, created_at = now(), expires_at = EXCLUDED.expires_at
            WHERE idempotency_keys.expires_at <= now()
        RETURNING scope, key
    ), message AS (
        INSERT INTO messages (id, topic_id, content_type, data, event_type)
        SELECT i.id, i.topic_id, i.content_type, i.data, nullif(i.event_type, '')
        FROM input i
        WHERE i.grp NOT IN (SELECT grp FROM unknown_topic)
            AND (i.key = '' OR EXISTS (SELECT 1 FROM keyed k JOIN key_taken t ON t.scope = k.key_scope AND t.key = k.key WHERE k.grp = i.grp))
        ORDER BY i.position
        RETURNING id, topic_id, created_at, event_type
    )
    SELECT array_agg(id), array_agg(created_at), array_agg(topic_id), array_agg(event_type)
    INTO p_created_ids, p_created_at, v_topic_ids, v_event_types
    FROM message;
    IF p_created_ids IS NOT NULL THEN
        PERFORM hammer_fan_out(p_created_ids, v_topic_ids, p_created_at, v_event_types);
    END IF;
    COMMIT;
END
$$;

-- The transactional outbox: publish from inside your own transaction on the hammer database. The message and its
-- deliveries commit or roll back with it; workers are woken at COMMIT. Returns the message id.
CREATE FUNCTION hammer_publish_message(topic_id text, content_type text, data bytea, event_type text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id text := hammer_ulid();
    v_created_at timestamptz;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM topics t WHERE t.id = hammer_publish_message.topic_id) THEN
        RAISE EXCEPTION 'topic "%" does not exist', hammer_publish_message.topic_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF event_type IS NOT NULL AND event_type !~ '^[A-Za-z0-9_.:-]{1,255}$' THEN
        RAISE EXCEPTION 'event_type must be 1 to 255 characters of letters, digits, ''_'', ''.'', '':'' or ''-''' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO messages (id, topic_id, content_type, data, event_type)
    VALUES (v_id, hammer_publish_message.topic_id, coalesce(nullif(hammer_publish_message.content_type, ''), 'application/json'),
        translate(encode(hammer_publish_message.data, 'base64'), E'\n', ''), hammer_publish_message.event_type)
    RETURNING created_at INTO v_created_at;
    PERFORM hammer_fan_out(ARRAY[v_id], ARRAY[hammer_publish_message.topic_id], ARRAY[v_created_at], ARRAY[hammer_publish_message.event_type]);
    RETURN v_id;
END
$$;
