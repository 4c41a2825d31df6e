CREATE INDEX deliveries_pending_scheduled_at_idx ON deliveries (scheduled_at) WHERE status = 'pending';
DROP INDEX deliveries_pending_subscription_id_scheduled_at_idx;
