-- The claim reads no partitioned table by a key known only while it runs (docs/storage.md, "The hot path and the
-- number of periods"): a prepared statement's generic plan opens and locks every partition of such a table, so the
-- claim's cost grew with the number of periods. Now:
-- - a queue row carries what the claim needs of its delivery and message (their keys, the attempts made, the message's
--   size), so the claim finds and picks work reading only the queues and subscriptions;
-- - pending callbacks wait in a narrow queue of their own, callback_queue, with their lease, as deliveries do;
-- - what lies in partitions (message data, a callback's url and body) is read by id, in a query planned for those ids
--   (hammer_rows_by_id below), which PostgreSQL prunes to their periods.
ALTER TABLE delivery_queue
    ADD COLUMN message_id varchar(26) COLLATE "C",
    ADD COLUMN topic_id varchar(255) COLLATE "C",
    -- attempts made before the next: the delivery's delivery_attempts, which the record keeps in step
    ADD COLUMN delivery_attempts integer NOT NULL DEFAULT 0,
    -- octet_length of the message's data: a claim stops at its byte budget without reading the message
    ADD COLUMN message_bytes integer NOT NULL DEFAULT 0;

-- A queue row whose delivery or message is gone has nothing to send.
DELETE FROM delivery_queue q
WHERE NOT EXISTS (SELECT 1 FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.id = q.delivery_id);

UPDATE delivery_queue q
SET message_id = d.message_id, topic_id = d.topic_id, delivery_attempts = d.delivery_attempts, message_bytes = octet_length(m.data)
FROM deliveries d JOIN messages m ON m.id = d.message_id
WHERE d.id = q.delivery_id;

ALTER TABLE delivery_queue ALTER COLUMN message_id SET NOT NULL, ALTER COLUMN topic_id SET NOT NULL;

-- Pending callbacks: claimed, leased and retried here; the callback row keeps what the API shows (its status, attempts
-- and next time, written by the record) and what is sent (url, body). A finished callback leaves this table.
CREATE TABLE callback_queue (
    callback_id varchar(26) COLLATE "C" PRIMARY KEY,
    subscription_id varchar(255) COLLATE "C" NOT NULL,
    type varchar(32) NOT NULL,
    scheduled_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    -- set by a worker's claim; not indexed, so a claim is a HOT update
    leased_until timestamptz
) WITH (fillfactor = 70);

INSERT INTO callback_queue (callback_id, subscription_id, type, scheduled_at, created_at, attempts, leased_until)
SELECT id, subscription_id, type, scheduled_at, created_at, attempts, leased_until FROM callbacks WHERE status = 'pending';

-- The claim's window of the oldest due callbacks.
CREATE INDEX callback_queue_scheduled_at_idx ON callback_queue (scheduled_at);

-- callbacks.leased_until is unused from now on, as deliveries.leased_until since migration 10.
UPDATE callbacks SET leased_until = NULL WHERE leased_until IS NOT NULL;

-- A deleted callback (its subscription deleted) leaves the queue with its attempts.
CREATE OR REPLACE FUNCTION hammer_delete_callback_attempts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM callback_attempts a USING gone g WHERE a.callback_id = g.id;
    DELETE FROM callback_queue q USING gone g WHERE q.callback_id = g.id;
    RETURN NULL;
END
$$;

-- The rows of a partitioned table (the one p_rows is a row of: NULL::messages) whose ids are p_ids, each once. EXECUTE
-- plans the query for these ids' range (least to greatest), so PostgreSQL prunes it to their periods before opening
-- anything; a join to the ids rather than id = ANY(ids), whose planning costs about 10 µs an element. plan_cache_mode
-- is set so that a server configured for generic plans prunes here too. The claim (a prepared statement) reads its
-- messages and callbacks through it.
CREATE FUNCTION hammer_rows_by_id(p_rows anyelement, p_ids text[]) RETURNS SETOF anyelement
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    -- With no ids, no query: a range of NULLs is not pruned, and every partition would be opened.
    IF cardinality(p_ids) > 0 THEN
        RETURN QUERY EXECUTE format(
            'SELECT t.* FROM %s t JOIN (SELECT DISTINCT unnest($1) AS id) i ON i.id = t.id WHERE t.id >= $2 AND t.id <= $3',
            pg_typeof(p_rows))
            USING p_ids, (SELECT min(i COLLATE "C") FROM unnest(p_ids) i), (SELECT max(i COLLATE "C") FROM unnest(p_ids) i);
    END IF;
END
$$;

-- Whether the table named p_name exists and is attached as a partition (retention detaches before it drops).
CREATE FUNCTION hammer_attached(p_name text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT relispartition FROM pg_class WHERE oid = to_regclass(p_name)), false)
$$;

DROP FUNCTION hammer_fan_out(text[], text[], timestamp with time zone[], text[]);

-- The fan-out of migration 13, writing each queue row with its delivery's message, topic, attempts and message size,
-- so that a claim reads nothing else. p_bytes are the messages' data sizes (octet_length).
CREATE FUNCTION hammer_fan_out(p_message_ids text[], p_topic_ids text[], p_created_at timestamp with time zone[], p_event_types text[],
    p_bytes integer[]) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_count bigint;
BEGIN
    WITH message AS (
        SELECT m.*, hammer_event_type_patterns(m.event_type) AS patterns
        FROM unnest(p_message_ids, p_topic_ids, p_created_at, p_event_types, p_bytes) AS m(id, topic_id, created_at, event_type, bytes)
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
        RETURNING id, topic_id, subscription_id, message_id, created_at
    ), queued AS (
        INSERT INTO delivery_queue (delivery_id, subscription_id, scheduled_at, created_at, message_id, topic_id, message_bytes)
        SELECT d.id, d.subscription_id, d.created_at, d.created_at, d.message_id, d.topic_id, m.bytes
        FROM delivery d JOIN message m ON m.id = d.message_id
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
    v_bytes integer[];
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
        RETURNING id, topic_id, created_at, event_type, octet_length(data) AS bytes
    )
    SELECT array_agg(id), array_agg(created_at), array_agg(topic_id), array_agg(event_type), array_agg(bytes)
    INTO p_created_ids, p_created_at, v_topic_ids, v_event_types, v_bytes
    FROM message;
    IF p_created_ids IS NOT NULL THEN
        PERFORM hammer_fan_out(p_created_ids, v_topic_ids, p_created_at, v_event_types, v_bytes);
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
    v_bytes integer;
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
    RETURNING created_at, octet_length(messages.data) INTO v_created_at, v_bytes;
    PERFORM hammer_fan_out(ARRAY[v_id], ARRAY[hammer_publish_message.topic_id], ARRAY[v_created_at], ARRAY[hammer_publish_message.event_type],
        ARRAY[v_bytes]);
    RETURN v_id;
END
$_$;

-- Retention's third step (migration 13) leaves the partition detached instead of dropping it under the parent's lock:
-- removing a large partition's files at commit takes a while (171 ms for 1.1 GB on the development machine), and
-- publishing waited for it. hammer_drop_detached_partition drops it after, in a transaction of its own that locks
-- nothing anyone else uses. It also looks the rows it keeps up by key, never reading the whole partition under the lock.
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
    -- Gone, or detached already (hammer_drop_detached_partition drops it).
    IF NOT hammer_attached(v_name) THEN
        RETURN 0;
    END IF;
    SELECT lower_id, upper_id INTO v_lower, v_upper FROM hammer_droppable_period(p_table, p_starts_at);
    IF p_table = 'messages' AND hammer_attached(hammer_partition_name('deliveries', p_starts_at)) THEN
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
        -- Each kept row looked up by its key (LATERAL … LIMIT 1, which the planner does not turn into a join): a plan
        -- that reads the whole partition instead would hold the parent's lock, and publishing, for as long as that takes.
        EXECUTE format('INSERT INTO deliveries_kept SELECT d.* FROM delivery_queue q CROSS JOIN LATERAL (
                SELECT * FROM %I d WHERE d.id = q.delivery_id LIMIT 1) d
            WHERE q.delivery_id >= %L AND q.delivery_id < %L AND q.status = ''pending''',
            v_name, v_lower, v_upper);
        -- Failed deliveries wait in the queue for a redelivery: those dropped wait no more.
        DELETE FROM delivery_queue q WHERE q.delivery_id >= v_lower AND q.delivery_id < v_upper AND q.status <> 'pending';
    WHEN 'messages' THEN
        EXECUTE format('INSERT INTO messages_kept SELECT m.* FROM (
                SELECT DISTINCT d.message_id FROM deliveries_kept d WHERE d.id >= %L AND d.id < %L) k CROSS JOIN LATERAL (
                SELECT * FROM %I m WHERE m.id = k.message_id LIMIT 1) m',
            v_lower, v_upper, v_name);
    WHEN 'callbacks' THEN
        EXECUTE format('INSERT INTO callbacks_kept SELECT * FROM %I WHERE status = ''pending''', v_name);
    ELSE
        NULL;
    END CASE;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', p_table, v_kept, v_upper);
    RETURN v_bytes;
END
$$;

-- Drops the period's partition of p_table once detached (by hammer_drop_partition, or by an earlier run that stopped
-- before dropping it), and the period once none of its tables has a partition left. NULL when another process is
-- maintaining the partitions.
CREATE FUNCTION hammer_drop_detached_partition(p_table text, p_starts_at timestamptz) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_name text := hammer_partition_name(p_table, p_starts_at);
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('hammer_partitions')) THEN
        RETURN NULL;
    END IF;
    IF to_regclass(v_name) IS NOT NULL AND NOT hammer_attached(v_name) THEN
        EXECUTE format('DROP TABLE %I', v_name);
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM unnest(hammer_partitioned_tables()) t WHERE to_regclass(hammer_partition_name(t, p_starts_at)) IS NOT NULL
    ) THEN
        DELETE FROM partition_periods WHERE starts_at = p_starts_at;
    END IF;
    RETURN true;
END
$$;

-- Binaries built for schema 13 would lease callbacks through callbacks.leased_until, beside workers leasing them here:
-- both would send them. They no longer run with this schema.
UPDATE schema_compatibility SET oldest_binary_schema = 14;
