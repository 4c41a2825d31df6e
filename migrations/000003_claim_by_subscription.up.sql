-- The claim walks pending deliveries subscription by subscription (each one's oldest due first, up to its free
-- send slots), so a subscription at its cap is skipped with one index probe instead of a scan of its backlog.
CREATE INDEX deliveries_pending_subscription_id_scheduled_at_idx ON deliveries (subscription_id, scheduled_at) WHERE status = 'pending';
DROP INDEX deliveries_pending_scheduled_at_idx;
