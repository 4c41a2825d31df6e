-- The deliveries not completed also have a row in a narrow table of their own: pending ones wait there to be claimed
-- (with their lease), failed ones for a redelivery. The claim reads and leases only this table, and a completion
-- deletes its row there and updates the delivery in place: no index on deliveries names status, scheduled_at or
-- leased_until any more, so that update is HOT (no index entries written, none for vacuum to remove), where it wrote
-- five index entries before. deliveries.status and scheduled_at stay what the API shows; leased_until there is unused.
CREATE TABLE delivery_queue (
    delivery_id varchar(26) COLLATE "C" PRIMARY KEY REFERENCES deliveries (id) ON DELETE CASCADE,
    subscription_id varchar(255) COLLATE "C" NOT NULL,
    status varchar(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
    scheduled_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    -- set by a worker's claim; not indexed, so a claim is a HOT update
    leased_until timestamptz
) WITH (fillfactor = 70);

INSERT INTO delivery_queue (delivery_id, subscription_id, status, scheduled_at, created_at, leased_until)
SELECT id, subscription_id, status, scheduled_at, created_at, leased_until FROM deliveries WHERE status <> 'completed';

-- The claim's probes (migrations 3 and 5) and the lists of pending or failed deliveries, in the API's order.
CREATE INDEX delivery_queue_pending_subscription_id_scheduled_at_idx ON delivery_queue (subscription_id, scheduled_at)
    WHERE status = 'pending';
CREATE INDEX delivery_queue_pending_subscription_id_created_at_id_idx ON delivery_queue (subscription_id, created_at, delivery_id)
    WHERE status = 'pending';
CREATE INDEX delivery_queue_status_created_at_id_idx ON delivery_queue (status, created_at, delivery_id);

DROP INDEX deliveries_pending_subscription_id_scheduled_at_idx;
DROP INDEX deliveries_pending_subscription_id_created_at_id_idx;
DROP INDEX deliveries_unfinished_status_created_at_id_idx;

UPDATE deliveries SET leased_until = NULL WHERE leased_until IS NOT NULL;

-- The fan-out of migration 7, queueing each delivery it creates.
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
