-- Outcome callbacks (docs/endpoint-health.md): events a subscription's callback_url is told about, written in the same statement
-- as the outcome that causes them and sent by the workers like deliveries (claimed, leased, retried, recorded).
ALTER TABLE subscriptions
    ADD COLUMN callback_url text,
    ADD COLUMN callback_events text[] NOT NULL DEFAULT '{delivery.failed,subscription.disabled}';

CREATE TABLE callbacks (
    id varchar(26) PRIMARY KEY,
    subscription_id varchar(255) NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    type varchar(32) NOT NULL CHECK (type IN ('delivery.failed', 'delivery.completed', 'subscription.disabled')),
    -- the delivery a delivery.* event is about (informational: no foreign key, the event outlives it)
    delivery_id varchar(26),
    -- the callback_url when the event happened
    url text NOT NULL,
    -- the JSON event, exactly as sent and signed
    body text NOT NULL,
    status varchar(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    scheduled_at timestamptz NOT NULL DEFAULT now(),
    leased_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX callbacks_pending_scheduled_at_idx ON callbacks (scheduled_at) WHERE status = 'pending';
CREATE INDEX callbacks_created_at_id_idx ON callbacks (created_at, id);
CREATE INDEX callbacks_subscription_id_created_at_id_idx ON callbacks (subscription_id, created_at, id);

CREATE TABLE callback_attempts (
    id varchar(26) PRIMARY KEY,
    callback_id varchar(26) NOT NULL REFERENCES callbacks (id) ON DELETE CASCADE,
    request text NOT NULL,
    response text NOT NULL,
    response_status_code integer NOT NULL,
    execution_duration integer NOT NULL,
    success boolean NOT NULL,
    error text NOT NULL DEFAULT '',
    error_kind varchar(32) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX callback_attempts_callback_id_created_at_id_idx ON callback_attempts (callback_id, created_at, id);

-- RFC 3339 UTC with microseconds, as the API writes timestamps.
CREATE FUNCTION hammer_timestamp(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;
