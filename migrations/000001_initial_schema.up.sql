-- ULIDs for rows created inside SQL (one delivery per subscription at publish time):
-- 48 bits of milliseconds, then 80 random bits from gen_random_uuid(), Crockford base32.
CREATE FUNCTION hammer_ulid() RETURNS varchar
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
DECLARE
    alphabet CONSTANT text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000);
    bytes bytea := uuid_send(gen_random_uuid());
    hi bigint;
    lo bigint;
    result text := '';
    i int;
BEGIN
    FOR i IN REVERSE 9..0 LOOP
        result := result || substr(alphabet, ((ms >> (i * 5)) & 31)::int + 1, 1);
    END LOOP;
    -- 40 bits from bytes 0..4 and 40 bits from bytes 8..12 (skipping the uuid version nibble).
    hi := (get_byte(bytes, 0)::bigint << 32) | (get_byte(bytes, 1)::bigint << 24) | (get_byte(bytes, 2)::bigint << 16)
        | (get_byte(bytes, 3)::bigint << 8) | get_byte(bytes, 4)::bigint;
    lo := (get_byte(bytes, 10)::bigint << 32) | (get_byte(bytes, 11)::bigint << 24) | (get_byte(bytes, 12)::bigint << 16)
        | (get_byte(bytes, 13)::bigint << 8) | get_byte(bytes, 14)::bigint;
    FOR i IN REVERSE 7..0 LOOP
        result := result || substr(alphabet, ((hi >> (i * 5)) & 31)::int + 1, 1);
    END LOOP;
    FOR i IN REVERSE 7..0 LOOP
        result := result || substr(alphabet, ((lo >> (i * 5)) & 31)::int + 1, 1);
    END LOOP;
    RETURN result;
END;
$$;

CREATE TABLE topics (
    id varchar(255) PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX topics_created_at_id_idx ON topics (created_at, id);

CREATE TABLE subscriptions (
    id varchar(255) PRIMARY KEY,
    topic_id varchar(255) NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    name text NOT NULL,
    url text NOT NULL,
    secret_token text NOT NULL,
    max_delivery_attempts integer NOT NULL CHECK (max_delivery_attempts >= 1),
    delivery_attempt_delay integer NOT NULL CHECK (delivery_attempt_delay >= 1),
    delivery_attempt_timeout integer NOT NULL CHECK (delivery_attempt_timeout >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX subscriptions_created_at_id_idx ON subscriptions (created_at, id);
CREATE INDEX subscriptions_topic_id_created_at_id_idx ON subscriptions (topic_id, created_at, id);

CREATE TABLE messages (
    id varchar(26) PRIMARY KEY,
    topic_id varchar(255) NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    content_type text NOT NULL,
    -- base64 of the published bytes, exactly as the API and the webhook body carry it
    data text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX messages_created_at_id_idx ON messages (created_at, id);
CREATE INDEX messages_topic_id_created_at_id_idx ON messages (topic_id, created_at, id);

-- content_type and data are read from messages (immutable), not copied per subscription.
-- topic_id has no foreign key of its own: deleting a topic cascades through its subscriptions and
-- messages, and each publish skips one referential check per delivery.
CREATE TABLE deliveries (
    id varchar(26) PRIMARY KEY,
    topic_id varchar(255) NOT NULL,
    subscription_id varchar(255) NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    message_id varchar(26) NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    url text NOT NULL,
    secret_token text NOT NULL,
    max_delivery_attempts integer NOT NULL,
    delivery_attempt_delay integer NOT NULL,
    delivery_attempt_timeout integer NOT NULL,
    scheduled_at timestamptz NOT NULL DEFAULT now(),
    delivery_attempts integer NOT NULL DEFAULT 0,
    status varchar(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'failed')),
    -- set by a worker's claim: the delivery is not claimable again until then. Not indexed, so the
    -- claim is a HOT update (no index writes) when the page has room, which the fillfactor leaves.
    leased_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);

CREATE INDEX deliveries_pending_scheduled_at_idx ON deliveries (scheduled_at) WHERE status = 'pending';
CREATE INDEX deliveries_created_at_id_idx ON deliveries (created_at, id);
CREATE INDEX deliveries_topic_id_created_at_id_idx ON deliveries (topic_id, created_at, id);
CREATE INDEX deliveries_subscription_id_created_at_id_idx ON deliveries (subscription_id, created_at, id);
CREATE INDEX deliveries_message_id_created_at_id_idx ON deliveries (message_id, created_at, id);
CREATE INDEX deliveries_status_created_at_id_idx ON deliveries (status, created_at, id);

CREATE TABLE delivery_attempts (
    id varchar(26) PRIMARY KEY,
    delivery_id varchar(26) NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    request text NOT NULL,
    response text NOT NULL,
    response_status_code integer NOT NULL,
    execution_duration integer NOT NULL,
    success boolean NOT NULL,
    error text NOT NULL DEFAULT '',
    -- bounded failure class (timeout, connection_refused, http_status, ...), empty on success
    error_kind varchar(32) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX delivery_attempts_created_at_id_idx ON delivery_attempts (created_at, id);
CREATE INDEX delivery_attempts_delivery_id_created_at_id_idx ON delivery_attempts (delivery_id, created_at, id);
