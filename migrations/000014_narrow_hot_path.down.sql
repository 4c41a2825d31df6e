-- Back to schema 13: callbacks are leased through callbacks.leased_until again (their queue's leases and attempts
-- copied back), and queue rows lose their delivery's columns.
UPDATE callbacks c SET leased_until = q.leased_until, attempts = q.attempts, scheduled_at = q.scheduled_at
FROM callback_queue q WHERE q.callback_id = c.id;
DROP TABLE callback_queue;
DROP FUNCTION hammer_rows_by_id(anyelement, text[]);
-- A partition a stopped retention run left detached goes now: schema 13 drops it with its detach.
DO $$
DECLARE
    v_period record;
    v_table text;
BEGIN
    FOR v_period IN SELECT starts_at FROM partition_periods LOOP
        FOREACH v_table IN ARRAY hammer_partitioned_tables() LOOP
            PERFORM hammer_drop_detached_partition(v_table, v_period.starts_at);
        END LOOP;
    END LOOP;
END
$$;
DROP FUNCTION hammer_drop_detached_partition(text, timestamptz);
DROP FUNCTION hammer_attached(text);

CREATE OR REPLACE FUNCTION hammer_drop_partition(p_table text, p_starts_at timestamptz, p_lock_timeout text DEFAULT '100ms') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_name text := hammer_partition_name(p_table, p_starts_at);
    v_kept text := p_table || '_kept';
    v_lower text;
    v_upper text;
    v_bytes bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('hammer_partitions')) THEN
        RETURN NULL;
    END IF;
    IF to_regclass(v_name) IS NULL THEN
        RETURN 0;
    END IF;
    SELECT lower_id, upper_id INTO v_lower, v_upper FROM hammer_droppable_period(p_table, p_starts_at);
    IF p_table = 'messages' AND to_regclass(hammer_partition_name('deliveries', p_starts_at)) IS NOT NULL THEN
        RAISE EXCEPTION 'drop the period''s deliveries before its messages' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM hammer_hold_partition(v_name);
    PERFORM hammer_hold_partition(v_kept);
    PERFORM set_config('lock_timeout', p_lock_timeout, true);
    v_bytes := pg_total_relation_size(v_name);
    EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', p_table, v_name);
    EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', p_table, v_kept);
    CASE p_table
    WHEN 'deliveries' THEN
        EXECUTE format('INSERT INTO deliveries_kept SELECT d.* FROM %I d WHERE d.id IN (
                SELECT q.delivery_id FROM delivery_queue q WHERE q.delivery_id >= %L AND q.delivery_id < %L AND q.status = ''pending'')',
            v_name, v_lower, v_upper);
        -- Failed deliveries wait in the queue for a redelivery: those dropped wait no more.
        DELETE FROM delivery_queue q WHERE q.delivery_id >= v_lower AND q.delivery_id < v_upper AND q.status <> 'pending';
    WHEN 'messages' THEN
        EXECUTE format('INSERT INTO messages_kept SELECT m.* FROM %I m WHERE m.id IN (
                SELECT d.message_id FROM deliveries_kept d WHERE d.id >= %L AND d.id < %L)',
            v_name, v_lower, v_upper);
    WHEN 'callbacks' THEN
        EXECUTE format('INSERT INTO callbacks_kept SELECT * FROM %I WHERE status = ''pending''', v_name);
    ELSE
        NULL;
    END CASE;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', p_table, v_kept, v_upper);
    EXECUTE format('DROP TABLE %I', v_name);
    IF NOT EXISTS (
        SELECT 1 FROM unnest(hammer_partitioned_tables()) t WHERE to_regclass(hammer_partition_name(t, p_starts_at)) IS NOT NULL
    ) THEN
        DELETE FROM partition_periods WHERE starts_at = p_starts_at;
    END IF;
    RETURN v_bytes;
END
$$;


CREATE OR REPLACE FUNCTION hammer_delete_callback_attempts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM callback_attempts a USING gone g WHERE a.callback_id = g.id;
    RETURN NULL;
END
$$;

DROP FUNCTION hammer_fan_out(text[], text[], timestamp with time zone[], text[], integer[]);

-- Publishing locks the topic and the subscriptions it writes for, in place of the foreign keys' checks.
CREATE FUNCTION hammer_fan_out(p_message_ids text[], p_topic_ids text[], p_created_at timestamp with time zone[], p_event_types text[]) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_count bigint;
BEGIN
    WITH message AS (
        SELECT m.*, hammer_event_type_patterns(m.event_type) AS patterns
        FROM unnest(p_message_ids, p_topic_ids, p_created_at, p_event_types) AS m(id, topic_id, created_at, event_type)
    ), subscription AS (
        -- Locked against deletion until this transaction ends, as the foreign key's check did: deleting one of them
        -- waits, then deletes these deliveries too.
        SELECT s.id, s.topic_id, s.url, s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout, s.event_types
        FROM subscriptions s
        WHERE s.topic_id = ANY(p_topic_ids)
            AND (cardinality(s.event_types) = 0 OR s.event_types && (SELECT array_agg(p) FROM message, unnest(message.patterns) AS p))
        FOR KEY SHARE
    ), delivery AS (
        -- A delivery id is its message's ULID time prefix and 64 random bits (hex, a subset of Crockford base32).
        INSERT INTO deliveries (
            id, topic_id, subscription_id, message_id, url,
            max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, scheduled_at, created_at, updated_at)
        SELECT substr(m.id, 1, 10) || upper(substr(md5(gen_random_uuid()::text), 1, 16)), s.topic_id, s.id, m.id, s.url,
            s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout, m.created_at, m.created_at, m.created_at
        FROM message m JOIN subscription s ON s.topic_id = m.topic_id
        WHERE cardinality(s.event_types) = 0 OR s.event_types && m.patterns
        RETURNING id, subscription_id, created_at
    ), queued AS (
        INSERT INTO delivery_queue (delivery_id, subscription_id, scheduled_at, created_at)
        SELECT id, subscription_id, created_at, created_at FROM delivery
    ), notified AS (
        SELECT pg_notify('hammer_deliveries', '') WHERE EXISTS (SELECT 1 FROM delivery)
    )
    SELECT count(*) INTO v_count FROM delivery WHERE (SELECT count(*) FROM notified) >= 0;
    RETURN v_count;
END
$$;


CREATE OR REPLACE PROCEDURE hammer_publish(IN p_ids text[], IN p_topic_ids text[], IN p_content_types text[], IN p_data text[], IN p_event_types text[], IN p_groups integer[], IN p_key_scopes text[], IN p_keys text[], IN p_key_hashes text[], IN p_key_ttl_seconds double precision, INOUT p_created_ids text[] DEFAULT NULL::text[], INOUT p_created_at timestamp with time zone[] DEFAULT NULL::timestamp with time zone[])
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_topic_ids text[];
    v_event_types text[];
BEGIN
    WITH input AS (
        SELECT * FROM unnest(p_ids, p_topic_ids, p_content_types, p_data, p_event_types, p_groups, p_key_scopes, p_keys, p_key_hashes)
            WITH ORDINALITY AS i(id, topic_id, content_type, data, event_type, grp, key_scope, key, key_hash, position)
    ), topic AS (
        -- Locked against deletion until this transaction ends, as the foreign key's check did.
        SELECT t.id FROM topics t WHERE t.id = ANY(p_topic_ids) FOR KEY SHARE
    ), unknown_topic AS (
        SELECT DISTINCT i.grp FROM input i WHERE NOT EXISTS (SELECT 1 FROM topic t WHERE t.id = i.topic_id)
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


CREATE OR REPLACE FUNCTION hammer_publish_message(topic_id text, content_type text, data bytea, event_type text DEFAULT NULL::text) RETURNS text
    LANGUAGE plpgsql
    AS $_$
DECLARE
    v_id text := hammer_ulid();
    v_created_at timestamptz;
BEGIN
    -- Locked against deletion until this transaction ends, as the foreign key's check did.
    PERFORM 1 FROM topics t WHERE t.id = hammer_publish_message.topic_id FOR KEY SHARE;
    IF NOT FOUND THEN
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
$_$;

ALTER TABLE delivery_queue DROP COLUMN message_id, DROP COLUMN topic_id, DROP COLUMN delivery_attempts, DROP COLUMN message_bytes;

UPDATE schema_compatibility SET oldest_binary_schema = 13;
