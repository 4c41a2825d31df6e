INSERT INTO topics (id, name) VALUES ('t', 't');
-- 300 subscriptions: 200 plain, 30 disabled, 30 rate-limited (10/s), 40 ordered whose head is waiting for a retry
INSERT INTO subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout,
    status, rate_limit, ordered)
SELECT 's' || lpad(i::text, 3, '0'), 't', 's', 'http://127.0.0.1:1/', 'x', 5, 1, 5,
    CASE WHEN i BETWEEN 201 AND 230 THEN 'disabled' ELSE 'active' END,
    CASE WHEN i BETWEEN 231 AND 260 THEN 10 END,
    i > 260
FROM generate_series(1, 300) i;
INSERT INTO messages (id, topic_id, content_type, data, created_at)
SELECT hammer_ulid(), 't', 'application/json', 'e30=', now() - interval '1 hour' + i * interval '1 millisecond' FROM generate_series(1, 667) i;
INSERT INTO deliveries (id, topic_id, subscription_id, message_id, url, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, scheduled_at, created_at)
SELECT hammer_ulid(), 't', s.id, m.id, s.url, 5, 1, 5, m.created_at, m.created_at FROM messages m CROSS JOIN subscriptions s;
-- the ordered subscriptions' heads failed and wait an hour for their retry
UPDATE deliveries d SET scheduled_at = now() + interval '1 hour', delivery_attempts = 1
FROM (SELECT DISTINCT ON (subscription_id) id FROM deliveries WHERE subscription_id IN (SELECT id FROM subscriptions WHERE ordered) ORDER BY subscription_id, created_at, id) h
WHERE d.id = h.id;
-- migrations 10 and 14: every pending delivery waits in the queue too, with its message's keys and size
INSERT INTO delivery_queue (delivery_id, subscription_id, scheduled_at, created_at, message_id, topic_id, delivery_attempts, message_bytes)
SELECT id, subscription_id, scheduled_at, created_at, message_id, topic_id, delivery_attempts, 4 FROM deliveries;
ANALYZE;
