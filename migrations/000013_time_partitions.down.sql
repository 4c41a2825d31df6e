-- Back to one table each, under lock: stop servers and workers first. The foreign keys between them come back, so
-- the rows left without what they belonged to (attempts of a dropped delivery, the queue's rows of one, a row written
-- in the instant its topic or subscription was deleted) are deleted first.
DROP TRIGGER messages_delete_deliveries ON messages;
DROP TRIGGER deliveries_delete_history ON deliveries;
DROP TRIGGER callbacks_delete_attempts ON callbacks;
DROP FUNCTION hammer_delete_message_deliveries();
DROP FUNCTION hammer_delete_delivery_history();
DROP FUNCTION hammer_delete_callback_attempts();
DROP TRIGGER topics_delete_messages ON topics;
DROP TRIGGER subscriptions_delete_deliveries ON subscriptions;
DROP FUNCTION hammer_delete_topic_messages();
DROP FUNCTION hammer_delete_subscription_deliveries();

CREATE OR REPLACE FUNCTION hammer_fan_out(p_message_ids text[], p_topic_ids text[], p_created_at timestamp with time zone[], p_event_types text[]) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
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

CREATE OR REPLACE FUNCTION hammer_publish_message(topic_id text, content_type text, data bytea, event_type text DEFAULT NULL::text) RETURNS text
    LANGUAGE plpgsql
    AS $_$
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
$_$;


ALTER TABLE messages RENAME TO messages_partitioned;
ALTER TABLE deliveries RENAME TO deliveries_partitioned;
ALTER TABLE delivery_attempts RENAME TO delivery_attempts_partitioned;
ALTER TABLE callbacks RENAME TO callbacks_partitioned;
ALTER TABLE callback_attempts RENAME TO callback_attempts_partitioned;

CREATE TABLE messages (LIKE messages_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE deliveries (LIKE deliveries_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) WITH (fillfactor = 70);
CREATE TABLE delivery_attempts (LIKE delivery_attempts_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE callbacks (LIKE callbacks_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE callback_attempts (LIKE callback_attempts_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS);

INSERT INTO messages SELECT m.* FROM messages_partitioned m WHERE EXISTS (SELECT 1 FROM topics t WHERE t.id = m.topic_id);
INSERT INTO deliveries SELECT d.* FROM deliveries_partitioned d
WHERE EXISTS (SELECT 1 FROM messages m WHERE m.id = d.message_id) AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = d.subscription_id);
INSERT INTO delivery_attempts SELECT a.* FROM delivery_attempts_partitioned a WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id);
INSERT INTO callbacks SELECT c.* FROM callbacks_partitioned c WHERE EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = c.subscription_id);
INSERT INTO callback_attempts SELECT a.* FROM callback_attempts_partitioned a WHERE EXISTS (SELECT 1 FROM callbacks c WHERE c.id = a.callback_id);
DELETE FROM delivery_queue q WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = q.delivery_id);

DROP TABLE messages_partitioned;
DROP TABLE deliveries_partitioned;
DROP TABLE delivery_attempts_partitioned;
DROP TABLE callbacks_partitioned;
DROP TABLE callback_attempts_partitioned;

DROP FUNCTION hammer_drop_partition(text, timestamptz, text);
DROP FUNCTION hammer_prepare_kept_partition(text, timestamptz, text);
DROP FUNCTION hammer_validate_kept_partition(text, text, text);
DROP FUNCTION hammer_droppable_period(text, timestamptz);
DROP FUNCTION hammer_hold_partition(text);
DROP FUNCTION hammer_add_partitions(bigint, timestamptz, boolean, text);
DROP FUNCTION hammer_add_partition_period(timestamptz, timestamptz);
DROP FUNCTION hammer_create_partition_table(text, text);
DROP FUNCTION hammer_partition_name(text, timestamptz);
DROP TABLE partition_periods;
DROP FUNCTION hammer_id_bound(timestamptz);
DROP FUNCTION hammer_partitioned_tables();

ALTER TABLE messages ADD CONSTRAINT messages_pkey PRIMARY KEY (id);
ALTER TABLE messages ADD CONSTRAINT messages_topic_id_fkey FOREIGN KEY (topic_id) REFERENCES topics (id) ON DELETE CASCADE;
CREATE INDEX messages_created_at_id_idx ON messages (created_at, id);
CREATE INDEX messages_topic_id_created_at_id_idx ON messages (topic_id, created_at, id);

ALTER TABLE deliveries ADD CONSTRAINT deliveries_pkey PRIMARY KEY (id);
ALTER TABLE deliveries ADD CONSTRAINT deliveries_message_id_fkey FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES subscriptions (id) ON DELETE CASCADE;
CREATE INDEX deliveries_created_at_id_idx ON deliveries (created_at, id);
CREATE INDEX deliveries_message_id_created_at_id_idx ON deliveries (message_id, created_at, id);
CREATE INDEX deliveries_subscription_id_created_at_id_idx ON deliveries (subscription_id, created_at, id);
CREATE INDEX deliveries_topic_id_created_at_id_idx ON deliveries (topic_id, created_at, id);

ALTER TABLE delivery_attempts ADD CONSTRAINT delivery_attempts_pkey PRIMARY KEY (id);
ALTER TABLE delivery_attempts ADD CONSTRAINT delivery_attempts_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES deliveries (id) ON DELETE CASCADE;
CREATE INDEX delivery_attempts_created_at_id_idx ON delivery_attempts (created_at, id);
CREATE INDEX delivery_attempts_delivery_id_created_at_id_idx ON delivery_attempts (delivery_id, created_at, id);

ALTER TABLE delivery_queue ADD CONSTRAINT delivery_queue_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES deliveries (id) ON DELETE CASCADE;

ALTER TABLE callbacks ADD CONSTRAINT callbacks_pkey PRIMARY KEY (id);
ALTER TABLE callbacks ADD CONSTRAINT callbacks_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES subscriptions (id) ON DELETE CASCADE;
CREATE INDEX callbacks_pending_scheduled_at_idx ON callbacks (scheduled_at) WHERE status = 'pending';
CREATE INDEX callbacks_created_at_id_idx ON callbacks (created_at, id);
CREATE INDEX callbacks_subscription_id_created_at_id_idx ON callbacks (subscription_id, created_at, id);

ALTER TABLE callback_attempts ADD CONSTRAINT callback_attempts_pkey PRIMARY KEY (id);
ALTER TABLE callback_attempts ADD CONSTRAINT callback_attempts_callback_id_fkey FOREIGN KEY (callback_id) REFERENCES callbacks (id) ON DELETE CASCADE;
CREATE INDEX callback_attempts_callback_id_created_at_id_idx ON callback_attempts (callback_id, created_at, id);

UPDATE schema_compatibility SET oldest_binary_schema = 12;
