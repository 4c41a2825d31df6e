-- Time partitions (docs/storage.md). messages, deliveries, delivery_attempts, callbacks and callback_attempts are
-- range-partitioned by id: hammer's ids are ULIDs, whose first 10 characters are their creation time in milliseconds,
-- so a range of ids is a range of time, every look-up by id finds its one partition, and a delivery (whose id starts
-- with its message's time) lies in its message's partition. All five share the periods in partition_periods; below
-- the oldest period each has a "kept" partition (`<table>_kept`, from MINVALUE), where retention keeps the live rows
-- of the periods it drops. No DEFAULT partition.
--
-- This migration rewrites the five tables under lock: stop servers and workers first (docs/operations.md gives the
-- time it takes per million rows and a way to shrink a large database online before it).

-- No foreign keys on the partitioned tables. One that points at a partitioned table makes detaching a partition scan
-- the whole referencing table under lock; one from a partition to topics or subscriptions makes attaching or detaching
-- that partition lock topics or subscriptions against writes, while the parent is locked: a claim or a record that
-- writes a subscription and waits for deliveries then holds the drop up, and publishing with it. Statement triggers
-- at the end delete what the keys cascaded, and the publish routines lock the topic and subscriptions they write for
-- (FOR KEY SHARE), as the keys' checks did. subscriptions keeps its key to topics.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_message_id_fkey;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_subscription_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_topic_id_fkey;
ALTER TABLE callbacks DROP CONSTRAINT callbacks_subscription_id_fkey;
ALTER TABLE delivery_attempts DROP CONSTRAINT delivery_attempts_delivery_id_fkey;
ALTER TABLE delivery_queue DROP CONSTRAINT delivery_queue_delivery_id_fkey;
ALTER TABLE callback_attempts DROP CONSTRAINT callback_attempts_callback_id_fkey;

-- The tables partitioned by time, in the order retention drops a period: history before the rows it depends on.
CREATE FUNCTION hammer_partitioned_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['delivery_attempts', 'callback_attempts', 'deliveries', 'messages', 'callbacks']
$$;

-- The first 10 characters of a ULID made at `t`: the bound between ids made before `t` and ids made at or after it.
CREATE FUNCTION hammer_id_bound(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((m.ms >> (i * 5)) & 31)::int + 1, 1), '' ORDER BY i DESC)
    FROM (SELECT floor(extract(epoch FROM t) * 1000)::bigint AS ms) m, generate_series(0, 9) AS i
$$;

-- One row per period every partitioned table has a partition for: ids made from starts_at (inclusive) to ends_at.
CREATE TABLE partition_periods (
    starts_at timestamptz PRIMARY KEY,
    ends_at timestamptz NOT NULL UNIQUE CHECK (ends_at > starts_at)
);

-- A period's partition of `p_table`: messages_p20261203t000000 for the period starting at midnight UTC.
CREATE FUNCTION hammer_partition_name(p_table text, p_starts_at timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT p_table || '_p' || to_char(p_starts_at AT TIME ZONE 'UTC', 'YYYYMMDD"t"HH24MISS')
$$;

-- A table shaped like a partitioned table, to attach as its partition (deliveries leave room for HOT updates).
CREATE FUNCTION hammer_create_partition_table(p_table text, p_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)%s', p_name, p_table,
        CASE WHEN p_table = 'deliveries' THEN ' WITH (fillfactor = 70)' ELSE '' END);
END
$$;

-- Adds the period [p_starts_at, p_ends_at) to every partitioned table. Each partition is made apart and then attached,
-- which locks its parent in SHARE UPDATE EXCLUSIVE mode only: inserts and reads go on (CREATE TABLE ... PARTITION OF
-- would lock the parent against them). Attaching builds the parent's indexes on the empty table.
CREATE FUNCTION hammer_add_partition_period(p_starts_at timestamptz, p_ends_at timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_table text;
    v_name text;
BEGIN
    FOREACH v_table IN ARRAY hammer_partitioned_tables() LOOP
        v_name := hammer_partition_name(v_table, p_starts_at);
        PERFORM hammer_create_partition_table(v_table, v_name);
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', v_table, v_name,
            hammer_id_bound(p_starts_at), hammer_id_bound(p_ends_at));
    END LOOP;
    INSERT INTO partition_periods (starts_at, ends_at) VALUES (p_starts_at, p_ends_at);
END
$$;

-- Makes periods of p_interval_seconds (NULL: the newest period's length) after the newest one until p_until (NULL:
-- two intervals after the current one, and at least ten minutes ahead) is covered. Periods follow each other without
-- a gap: after a long stop, the time missed is one period of its own, and new ones start where the current interval
-- starts. Several processes agree through a transaction-scoped advisory lock (it also works behind a transaction
-- pooler): with p_wait false, a process that does not get it at once returns NULL; otherwise it returns how many
-- periods it added. Attaching a partition copies the foreign keys to topics and subscriptions, which locks those
-- tables against writes for an instant: it waits at most p_lock_timeout for that (a failure is tried again later).
CREATE FUNCTION hammer_add_partitions(p_interval_seconds bigint, p_until timestamptz, p_wait boolean DEFAULT false,
    p_lock_timeout text DEFAULT '1s') RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    v_seconds bigint := p_interval_seconds;
    v_last timestamptz;
    v_current timestamptz;
    v_added int := 0;
BEGIN
    PERFORM set_config('lock_timeout', p_lock_timeout, true);
    IF p_wait THEN
        PERFORM pg_advisory_xact_lock(hashtext('hammer_partitions'));
    ELSIF NOT pg_try_advisory_xact_lock(hashtext('hammer_partitions')) THEN
        RETURN NULL;
    END IF;
    SELECT ends_at, coalesce(v_seconds, extract(epoch FROM ends_at - starts_at)::bigint) INTO v_last, v_seconds
    FROM partition_periods ORDER BY ends_at DESC LIMIT 1;
    IF v_last IS NULL THEN
        RAISE EXCEPTION 'partition_periods is empty: run `hammer migrate`' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    v_current := to_timestamp(floor(extract(epoch FROM now()) / v_seconds) * v_seconds);
    p_until := coalesce(p_until, greatest(v_current + 3 * v_seconds * interval '1 second', now() + interval '10 minutes'));
    IF v_last < v_current THEN
        PERFORM hammer_add_partition_period(v_last, v_current);
        v_last := v_current;
        v_added := 1;
    END IF;
    WHILE v_last < p_until LOOP
        PERFORM hammer_add_partition_period(v_last, v_last + v_seconds * interval '1 second');
        v_last := v_last + v_seconds * interval '1 second';
        v_added := v_added + 1;
    END LOOP;
    RETURN v_added;
END
$$;

-- Locks a partition against autovacuum and other maintenance, not against reads or writes (SHARE UPDATE EXCLUSIVE),
-- waiting up to 5 s: autovacuum yields to a waiting lock after deadlock_timeout (1 s by default), so the short lock
-- waits that follow (which publishing and delivering would queue behind) never wait for a vacuum of the partition.
CREATE FUNCTION hammer_hold_partition(p_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('lock_timeout', '5s', true);
    EXECUTE format('LOCK TABLE %I IN SHARE UPDATE EXCLUSIVE MODE', p_name);
END
$$;

-- A period may be dropped when it is the oldest, has ended, and is not the newest (new rows always have a place):
-- returns its bounds as ids, or raises why not.
CREATE FUNCTION hammer_droppable_period(p_table text, p_starts_at timestamptz, OUT lower_id text, OUT upper_id text)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_table <> ALL(hammer_partitioned_tables()) THEN
        RAISE EXCEPTION 'table "%" is not partitioned by time', p_table USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT hammer_id_bound(p.starts_at), hammer_id_bound(p.ends_at) INTO lower_id, upper_id
    FROM partition_periods p
    WHERE p.starts_at = p_starts_at AND p.ends_at <= now() AND EXISTS (SELECT 1 FROM partition_periods n WHERE n.starts_at > p.starts_at);
    IF upper_id IS NULL THEN
        RAISE EXCEPTION 'the period starting at % does not exist, has not ended or is the newest: it is not dropped', p_starts_at
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF EXISTS (SELECT 1 FROM partition_periods WHERE starts_at < p_starts_at) THEN
        RAISE EXCEPTION 'the period starting at % is not the oldest', p_starts_at USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$$;

-- Dropping a period's partition of `p_table`, first step, with the tables open to everyone: the kept partition loses
-- the rows that stopped being live (a failed delivery with its queue row, which waited for a redelivery) and gets a
-- CHECK constraint, not yet validated, that its ids lie below the period's end. Returns the constraint's name (to
-- validate, which reads the kept rows without blocking writes), or NULL when another process holds the maintenance
-- lock. Adding the constraint locks the kept partition for an instant, waiting at most p_lock_timeout.
CREATE FUNCTION hammer_prepare_kept_partition(p_table text, p_starts_at timestamptz, p_lock_timeout text DEFAULT '100ms') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_kept text := p_table || '_kept';
    v_upper text;
    v_check text;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('hammer_partitions')) THEN
        RETURN NULL;
    END IF;
    SELECT upper_id INTO v_upper FROM hammer_droppable_period(p_table, p_starts_at);
    CASE p_table
    WHEN 'deliveries' THEN
        DELETE FROM delivery_queue q USING deliveries_kept k WHERE q.delivery_id = k.id AND q.status <> 'pending';
        DELETE FROM deliveries_kept k WHERE NOT EXISTS (
            SELECT 1 FROM delivery_queue q WHERE q.delivery_id = k.id AND q.status = 'pending')
            OR NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = k.subscription_id);
    WHEN 'messages' THEN
        DELETE FROM messages_kept k WHERE NOT EXISTS (SELECT 1 FROM deliveries_kept d WHERE d.message_id = k.id);
    WHEN 'callbacks' THEN
        DELETE FROM callbacks_kept k WHERE k.status <> 'pending' OR NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = k.subscription_id);
    ELSE
        EXECUTE format('DELETE FROM %I', v_kept);
    END CASE;
    PERFORM hammer_hold_partition(v_kept);
    PERFORM set_config('lock_timeout', p_lock_timeout, true);
    FOR v_check IN SELECT conname FROM pg_constraint WHERE conrelid = v_kept::regclass AND conname LIKE 'kept_below_%' LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', v_kept, v_check);
    END LOOP;
    v_check := 'kept_below_' || lower(v_upper);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (id < %L) NOT VALID', v_kept, v_check, v_upper);
    RETURN v_check;
END
$$;

-- Dropping a period's partition of `p_table`, second step: validates the kept partition's new constraint, reading its
-- rows under a lock that lets reads and writes go on (SHARE UPDATE EXCLUSIVE), waiting at most p_lock_timeout for it.
CREATE FUNCTION hammer_validate_kept_partition(p_table text, p_check text, p_lock_timeout text DEFAULT '100ms') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_table <> ALL(hammer_partitioned_tables()) THEN
        RAISE EXCEPTION 'table "%" is not partitioned by time', p_table USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM hammer_hold_partition(p_table || '_kept');
    PERFORM set_config('lock_timeout', p_lock_timeout, true);
    EXECUTE format('ALTER TABLE %I VALIDATE CONSTRAINT %I', p_table || '_kept', p_check);
END
$$;

-- Dropping a period's partition of `p_table`, last step: the parent is locked (ACCESS EXCLUSIVE, waiting at most
-- p_lock_timeout for it) from the detach to the commit, so that no write reaches a row being kept meanwhile. The
-- period's live rows (a delivery the queue holds as pending, a message such a delivery needs, a pending callback;
-- attempts are history), found through the queue's key or the pending index, are copied with their ids and data
-- into the kept partition, which is attached again to cover every id up to the period's end (its validated CHECK
-- constraint spares reading its rows), and the period's partition is dropped. Returns the bytes dropped, or NULL when
-- another process holds the maintenance lock. A period's tables go in the order of hammer_partitioned_tables();
-- messages wait for deliveries, whose kept rows say which they need.
CREATE FUNCTION hammer_drop_partition(p_table text, p_starts_at timestamptz, p_lock_timeout text DEFAULT '100ms') RETURNS bigint
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

-- The five tables, partitioned. Each is renamed, made again partitioned with the same columns, given its kept
-- partition and periods for the rows it holds (the configured interval from the current one on; 30 days, or the
-- interval if longer, for older rows, so that years of history do not become thousands of partitions), and filled.
ALTER TABLE messages RENAME TO messages_unpartitioned;
ALTER TABLE deliveries RENAME TO deliveries_unpartitioned;
ALTER TABLE delivery_attempts RENAME TO delivery_attempts_unpartitioned;
ALTER TABLE callbacks RENAME TO callbacks_unpartitioned;
ALTER TABLE callback_attempts RENAME TO callback_attempts_unpartitioned;

CREATE TABLE messages (LIKE messages_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (id);
CREATE TABLE deliveries (LIKE deliveries_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (id);
CREATE TABLE delivery_attempts (LIKE delivery_attempts_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (id);
CREATE TABLE callbacks (LIKE callbacks_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (id);
CREATE TABLE callback_attempts (LIKE callback_attempts_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (id);

DO $$
DECLARE
    -- `hammer migrate` sets the configured interval (HAMMER_PARTITION_INTERVAL); one day otherwise.
    v_seconds bigint := coalesce(nullif(current_setting('hammer.partition_interval_seconds', true), ''), '86400')::bigint;
    v_history interval := greatest(v_seconds, 30 * 86400) * interval '1 second';
    v_current timestamptz := to_timestamp(floor(extract(epoch FROM now()) / v_seconds) * v_seconds);
    v_oldest timestamptz := least(
        (SELECT min(created_at) FROM messages_unpartitioned), (SELECT min(created_at) FROM deliveries_unpartitioned),
        (SELECT min(created_at) FROM delivery_attempts_unpartitioned), (SELECT min(created_at) FROM callbacks_unpartitioned),
        (SELECT min(created_at) FROM callback_attempts_unpartitioned));
    v_first timestamptz := v_current;
    v_table text;
BEGIN
    WHILE v_first > v_oldest LOOP
        v_first := v_first - v_history;
    END LOOP;
    FOREACH v_table IN ARRAY hammer_partitioned_tables() LOOP
        PERFORM hammer_create_partition_table(v_table, v_table || '_kept');
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', v_table, v_table || '_kept',
            hammer_id_bound(v_first));
    END LOOP;
    WHILE v_first < v_current LOOP
        PERFORM hammer_add_partition_period(v_first, v_first + v_history);
        v_first := v_first + v_history;
    END LOOP;
    PERFORM hammer_add_partition_period(v_current, v_current + v_seconds * interval '1 second');
END
$$;

INSERT INTO messages SELECT * FROM messages_unpartitioned;
INSERT INTO deliveries SELECT * FROM deliveries_unpartitioned;
INSERT INTO delivery_attempts SELECT * FROM delivery_attempts_unpartitioned;
INSERT INTO callbacks SELECT * FROM callbacks_unpartitioned;
INSERT INTO callback_attempts SELECT * FROM callback_attempts_unpartitioned;

DROP TABLE messages_unpartitioned;
DROP TABLE deliveries_unpartitioned;
DROP TABLE delivery_attempts_unpartitioned;
DROP TABLE callbacks_unpartitioned;
DROP TABLE callback_attempts_unpartitioned;

-- The indexes of before, on every partition.
ALTER TABLE messages ADD CONSTRAINT messages_pkey PRIMARY KEY (id);
CREATE INDEX messages_created_at_id_idx ON messages (created_at, id);
CREATE INDEX messages_topic_id_created_at_id_idx ON messages (topic_id, created_at, id);

ALTER TABLE deliveries ADD CONSTRAINT deliveries_pkey PRIMARY KEY (id);
CREATE INDEX deliveries_created_at_id_idx ON deliveries (created_at, id);
CREATE INDEX deliveries_message_id_created_at_id_idx ON deliveries (message_id, created_at, id);
CREATE INDEX deliveries_subscription_id_created_at_id_idx ON deliveries (subscription_id, created_at, id);
CREATE INDEX deliveries_topic_id_created_at_id_idx ON deliveries (topic_id, created_at, id);

ALTER TABLE delivery_attempts ADD CONSTRAINT delivery_attempts_pkey PRIMARY KEY (id);
CREATE INDEX delivery_attempts_created_at_id_idx ON delivery_attempts (created_at, id);
CREATE INDEX delivery_attempts_delivery_id_created_at_id_idx ON delivery_attempts (delivery_id, created_at, id);

ALTER TABLE callbacks ADD CONSTRAINT callbacks_pkey PRIMARY KEY (id);
CREATE INDEX callbacks_pending_scheduled_at_idx ON callbacks (scheduled_at) WHERE status = 'pending';
CREATE INDEX callbacks_created_at_id_idx ON callbacks (created_at, id);
CREATE INDEX callbacks_subscription_id_created_at_id_idx ON callbacks (subscription_id, created_at, id);

ALTER TABLE callback_attempts ADD CONSTRAINT callback_attempts_pkey PRIMARY KEY (id);
CREATE INDEX callback_attempts_callback_id_created_at_id_idx ON callback_attempts (callback_id, created_at, id);

-- The cascades of the foreign keys that went: deleting a message deletes its deliveries (which share its partition:
-- a delivery id starts with its message's), deleting a delivery its queue row and attempts, deleting a callback its
-- attempts. Statement triggers see every row deleted at once (a cascade from a deleted subscription or topic too).
CREATE FUNCTION hammer_delete_message_deliveries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM deliveries d USING gone g
    WHERE d.message_id = g.id AND d.id >= left(g.id, 10) AND d.id < left(g.id, 10) || '~';
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_delete_deliveries AFTER DELETE ON messages
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION hammer_delete_message_deliveries();

CREATE FUNCTION hammer_delete_delivery_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM delivery_queue q USING gone g WHERE q.delivery_id = g.id;
    DELETE FROM delivery_attempts a USING gone g WHERE a.delivery_id = g.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER deliveries_delete_history AFTER DELETE ON deliveries
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION hammer_delete_delivery_history();

CREATE FUNCTION hammer_delete_callback_attempts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM callback_attempts a USING gone g WHERE a.callback_id = g.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER callbacks_delete_attempts AFTER DELETE ON callbacks
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION hammer_delete_callback_attempts();

CREATE FUNCTION hammer_delete_topic_messages() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM messages m USING gone g WHERE m.topic_id = g.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER topics_delete_messages AFTER DELETE ON topics
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION hammer_delete_topic_messages();

CREATE FUNCTION hammer_delete_subscription_deliveries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM deliveries d USING gone g WHERE d.subscription_id = g.id;
    DELETE FROM callbacks c USING gone g WHERE c.subscription_id = g.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER subscriptions_delete_deliveries AFTER DELETE ON subscriptions
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION hammer_delete_subscription_deliveries();

-- Publishing locks the topic and the subscriptions it writes for, in place of the foreign keys' checks.
CREATE OR REPLACE FUNCTION hammer_fan_out(p_message_ids text[], p_topic_ids text[], p_created_at timestamp with time zone[], p_event_types text[]) RETURNS bigint
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

-- Binaries built for schema 12 would never make partitions ahead: they no longer run with this schema.
UPDATE schema_compatibility SET oldest_binary_schema = 13;
