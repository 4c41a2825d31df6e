-- Endpoint health (docs/endpoint-health.md): per-subscription limits, FIFO, disabling.
ALTER TABLE subscriptions
    -- concurrent sends per worker; NULL is the worker's HAMMER_SUBSCRIPTION_MAX_IN_FLIGHT
    ADD COLUMN max_in_flight integer CHECK (max_in_flight >= 1),
    -- attempts per second across all workers: a token bucket (burst of one second's worth) kept in the row and
    -- spent by the claim while it holds the row locked
    ADD COLUMN rate_limit integer CHECK (rate_limit >= 1),
    ADD COLUMN rate_tokens float8 NOT NULL DEFAULT 0,
    ADD COLUMN rate_refilled_at timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN ordered boolean NOT NULL DEFAULT false,
    ADD COLUMN status varchar(16) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    ADD COLUMN disabled_reason text,
    ADD COLUMN disabled_at timestamptz,
    -- the first failed attempt since the last success (NULL while the last attempt succeeded): auto-disable after
    -- HAMMER_DISABLE_AFTER_FAILING_FOR. Written only when it changes, so steady traffic does not write the row.
    ADD COLUMN failing_since timestamptz;

-- An ordered subscription's head: its oldest pending delivery in publish order, one index probe.
CREATE INDEX deliveries_pending_subscription_id_created_at_id_idx ON deliveries (subscription_id, created_at, id) WHERE status = 'pending';
