-- Time partitions (docs/storage.md). messages, deliveries, delivery_attempts, callbacks and callback_attempts are
-- range-partitioned by id: hammer's ids are ULIDs, whose first 10 characters are their creation time in milliseconds,
-- so a range of ids is a range of time, every look-up by id finds its one partition, and a delivery (whose id starts
-- with its message's time) lies in its message's partition. All five share the periods in partition_periods; below
-- the oldest period each has a "kept" partition (`<table>_kept`, from MINVALUE), where retention keeps the live rows
-- of the periods it drops. No DEFAULT partition.
--
-- This migration rewrites the five tables under lock: stop servers and workers first (docs/operations.md gives the
-- time it takes per million rows and a way to shrink a large database online before it).

-- A foreign key that points at a partitioned table makes detaching one of its partitions scan the whole referencing
-- table under lock. These four go; the statement triggers at the end delete what they cascaded. The keys to topics
-- and subscriptions, which are not partitioned, stay.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_message_id_fkey;
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
-- two intervals after the current one) is covered. Periods follow each other without a gap: after a long stop, the time missed is one period of its own, and
-- new ones start where the current interval starts. Several processes agree through a transaction-scoped advisory
-- lock (it also works behind a transaction pooler): with p_wait false, a process that does not get it at once
-- returns NULL; otherwise it returns how many periods it added.
CREATE FUNCTION hammer_add_partitions(p_interval_seconds bigint, p_until timestamptz, p_wait boolean DEFAULT false) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    v_seconds bigint := p_interval_seconds;
    v_last timestamptz;
    v_current timestamptz;
    v_added int := 0;
BEGIN
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
    p_until := coalesce(p_until, v_current + 3 * v_seconds * interval '1 second');
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

-- Drops `p_table`'s partition of the oldest period (starting at p_starts_at), keeping its live rows: they go into
-- the table's kept partition, which then covers every id up to the period's end, with their ids and data. Live
-- means: a delivery the queue holds as pending, a message such a delivery needs, a pending callback; attempts are
-- history. The kept partition loses the rows that stopped being live since. The parent is locked (ACCESS
-- EXCLUSIVE) from the detach to the commit, waiting at most p_lock_timeout for it, so that no write reaches a row
-- being kept meanwhile. Returns the bytes dropped, or NULL when another process holds the lock. A period's tables
-- go in the order of hammer_partitioned_tables(); messages wait for deliveries, whose kept rows say which they need.
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
    IF p_table <> ALL(hammer_partitioned_tables()) THEN
        RAISE EXCEPTION 'table "%" is not partitioned by time', p_table USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT hammer_id_bound(starts_at), hammer_id_bound(ends_at) INTO v_lower, v_upper FROM partition_periods WHERE starts_at = p_starts_at;
    IF v_upper IS NULL OR to_regclass(v_name) IS NULL THEN
        RETURN 0;
    END IF;
    IF EXISTS (SELECT 1 FROM partition_periods WHERE starts_at < p_starts_at) THEN
        RAISE EXCEPTION 'the period starting at % is not the oldest', p_starts_at USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF p_table = 'messages' AND to_regclass(hammer_partition_name('deliveries', p_starts_at)) IS NOT NULL THEN
        RAISE EXCEPTION 'drop the period''s deliveries before its messages' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM set_config('lock_timeout', p_lock_timeout, true);
    v_bytes := pg_total_relation_size(v_name);
    EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', p_table, v_name);
    EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', p_table, v_kept);
    CASE p_table
    WHEN 'deliveries' THEN
        DELETE FROM deliveries_kept k WHERE NOT EXISTS (
            SELECT 1 FROM delivery_queue q WHERE q.delivery_id = k.id AND q.status = 'pending');
        -- Driven by the queue's key: the partition's finished deliveries are never read.
        EXECUTE format('INSERT INTO deliveries_kept SELECT d.* FROM %I d WHERE d.id IN (
                SELECT q.delivery_id FROM delivery_queue q WHERE q.delivery_id >= %L AND q.delivery_id < %L AND q.status = ''pending'')',
            v_name, v_lower, v_upper);
        -- Failed deliveries wait in the queue for a redelivery: those dropped wait no more.
        DELETE FROM delivery_queue q WHERE q.delivery_id < v_upper AND q.status <> 'pending';
    WHEN 'messages' THEN
        DELETE FROM messages_kept k WHERE NOT EXISTS (SELECT 1 FROM deliveries_kept d WHERE d.message_id = k.id);
        EXECUTE format('INSERT INTO messages_kept SELECT m.* FROM %I m WHERE m.id IN (
                SELECT d.message_id FROM deliveries_kept d WHERE d.id >= %L AND d.id < %L)',
            v_name, v_lower, v_upper);
    WHEN 'callbacks' THEN
        DELETE FROM callbacks_kept WHERE status <> 'pending';
        EXECUTE format('INSERT INTO callbacks_kept SELECT * FROM %I WHERE status = ''pending''', v_name);
    ELSE
        EXECUTE format('TRUNCATE %I', v_kept);
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
ALTER TABLE messages ADD CONSTRAINT messages_topic_id_fkey FOREIGN KEY (topic_id) REFERENCES topics (id) ON DELETE CASCADE;
CREATE INDEX messages_created_at_id_idx ON messages (created_at, id);
CREATE INDEX messages_topic_id_created_at_id_idx ON messages (topic_id, created_at, id);

ALTER TABLE deliveries ADD CONSTRAINT deliveries_pkey PRIMARY KEY (id);
ALTER TABLE deliveries ADD CONSTRAINT deliveries_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES subscriptions (id) ON DELETE CASCADE;
CREATE INDEX deliveries_created_at_id_idx ON deliveries (created_at, id);
CREATE INDEX deliveries_message_id_created_at_id_idx ON deliveries (message_id, created_at, id);
CREATE INDEX deliveries_subscription_id_created_at_id_idx ON deliveries (subscription_id, created_at, id);
CREATE INDEX deliveries_topic_id_created_at_id_idx ON deliveries (topic_id, created_at, id);

ALTER TABLE delivery_attempts ADD CONSTRAINT delivery_attempts_pkey PRIMARY KEY (id);
CREATE INDEX delivery_attempts_created_at_id_idx ON delivery_attempts (created_at, id);
CREATE INDEX delivery_attempts_delivery_id_created_at_id_idx ON delivery_attempts (delivery_id, created_at, id);

ALTER TABLE callbacks ADD CONSTRAINT callbacks_pkey PRIMARY KEY (id);
ALTER TABLE callbacks ADD CONSTRAINT callbacks_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES subscriptions (id) ON DELETE CASCADE;
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

-- Binaries built for schema 12 would never make partitions ahead: they no longer run with this schema.
UPDATE schema_compatibility SET oldest_binary_schema = 13;
