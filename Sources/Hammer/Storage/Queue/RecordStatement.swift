import Foundation
import Logging
import PostgresNIO

/// Many attempts and their deliveries' new states in one prepared statement (one transaction). A delivery whose
/// lease was lost (taken over after expiry) keeps its state; its attempt is still recorded.
///
/// Its generic plan opens every partition of `deliveries`, `messages` and `callbacks` (it reaches them by keys found
/// as it runs): planning it for each batch instead, to prune, cost about 10 ms of PostgreSQL's time a batch, far
/// more (docs/storage.md, "The hot path and the number of periods").
///
/// The rules it applies, each in the common table expression named after it:
/// - `outcome`: the batch, less what was deleted meanwhile (a message, a subscription, a topic).
/// - `attempt`, `callback_attempt`: every attempt is kept, once (a retried write changes nothing).
/// - `dequeued`, `requeued`, `callback_dequeued`, `callback_requeued`: only the lease holder moves a queue row:
///   completed leaves the queue, a retry is due after its delay, a failed delivery stays as failed.
/// - `updated`, `callback_updated`: the delivery or callback the API shows follows its queue row.
/// - `delivery_event`: `delivery.completed` and `delivery.failed` callbacks for the subscriptions that asked.
/// - `attempt_minute`: the console's chart, attempts per minute by outcome.
/// - `health`, `health_changed`: endpoint health: `failing_since` is set by the first failure and cleared by a
///   success; auto-disable on 410 Gone (`$14`) or after failing for `$15` milliseconds. Callbacks never count.
/// - `disabled_event`: the `subscription.disabled` callback of an auto-disable.
/// - `callback_queued`: the new callbacks wait in `callback_queue`.
/// - `notified`: workers hear of new callbacks at once.
struct RecordStatement: PostgresPreparedStatement {
    typealias Row = Int

    static let sql = """
        WITH outcome AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::bool[], $8::text[], $9::text[],
                $10::text[], $11::bigint[], $12::bigint[], $13::text[], $16::bool[], $17::text[], $18::int[], $19::int[], $20::int[], $21::smallint[]
            ) AS o(delivery_id, attempt_id, request, response, status_code, duration, success, error, error_kind, new_status, retry_delay_ms,
                lease, subscription_id, is_callback, url, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, request_body)
            WHERE CASE WHEN o.is_callback THEN EXISTS (SELECT 1 FROM callbacks c WHERE c.id = o.delivery_id)
                ELSE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = o.delivery_id) END
        ), attempt AS (
            -- A body the message and delivery determine is not stored again: `request` is then the line and headers only.
            INSERT INTO delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, error, error_kind,
                request_body)
            SELECT attempt_id, delivery_id, request, response, status_code, duration, success, error, error_kind, request_body
            FROM outcome WHERE NOT is_callback
            -- A retry of a write that committed but whose answer was lost (timeout) changes nothing.
            ON CONFLICT (id) DO NOTHING
        ), dequeued AS (
            -- Only while the lease is this attempt's. Completed: off the queue. Retried or failed: it stays, with its next
            -- time or as failed.
            DELETE FROM delivery_queue q USING outcome o
            WHERE NOT o.is_callback AND o.new_status = 'completed' AND q.delivery_id = o.delivery_id AND q.status = 'pending'
                AND (extract(epoch FROM q.leased_until) * 1000000)::bigint = o.lease
            RETURNING q.delivery_id, q.scheduled_at
        ), requeued AS (
            UPDATE delivery_queue q SET
                status = o.new_status,
                scheduled_at = CASE WHEN o.new_status = 'pending' THEN now() + o.retry_delay_ms * interval '1 millisecond' ELSE q.scheduled_at END,
                leased_until = NULL,
                delivery_attempts = q.delivery_attempts + 1
            FROM outcome o
            WHERE NOT o.is_callback AND o.new_status <> 'completed' AND q.delivery_id = o.delivery_id AND q.status = 'pending'
                AND (extract(epoch FROM q.leased_until) * 1000000)::bigint = o.lease
            RETURNING q.delivery_id, q.scheduled_at
        ), updated AS (
            -- Only the deliveries whose queue row this attempt's lease moved; the API shows the queue's next time.
            -- No index names a column written here: the update is HOT when the page has room.
            UPDATE deliveries d SET
                status = o.new_status,
                delivery_attempts = d.delivery_attempts + 1,
                scheduled_at = moved.scheduled_at,
                url = o.url, max_delivery_attempts = o.max_delivery_attempts, delivery_attempt_delay = o.delivery_attempt_delay,
                delivery_attempt_timeout = o.delivery_attempt_timeout,
                updated_at = now()
            FROM (SELECT * FROM dequeued UNION ALL SELECT * FROM requeued) moved JOIN outcome o ON o.delivery_id = moved.delivery_id
            WHERE NOT o.is_callback AND d.id = moved.delivery_id
            RETURNING d.*, o.status_code, o.error, o.error_kind
        ), delivery_event AS (
            -- delivery.completed / delivery.failed for subscriptions that asked, in this same transaction. The delivery
            -- object has the API's fields (GET /v1/deliveries/{id}).
            INSERT INTO callbacks (id, subscription_id, type, delivery_id, url, body)
            SELECT hammer_ulid(), u.subscription_id, 'delivery.' || u.status, u.id, s.callback_url,
                json_build_object(
                    'type', 'delivery.' || u.status,
                    'subscription_id', u.subscription_id,
                    'delivery', json_build_object(
                        'content_type', m.content_type, 'created_at', hammer_timestamp(u.created_at), 'data', m.data,
                        'delivery_attempt_delay', u.delivery_attempt_delay, 'delivery_attempt_timeout', u.delivery_attempt_timeout,
                        'delivery_attempts', u.delivery_attempts, 'event_type', m.event_type, 'id', u.id,
                        'max_delivery_attempts', u.max_delivery_attempts, 'message_id', u.message_id,
                        'scheduled_at', hammer_timestamp(u.scheduled_at), 'status', u.status, 'subscription_id', u.subscription_id,
                        'topic_id', u.topic_id, 'updated_at', hammer_timestamp(u.updated_at), 'url', hammer_redacted_url(u.url)),
                    'last_attempt', json_build_object(
                        'response_status_code', u.status_code, 'error', u.error, 'error_kind', nullif(u.error_kind, ''),
                        'created_at', hammer_timestamp(now()))
                )::text
            FROM updated u JOIN subscriptions s ON s.id = u.subscription_id JOIN messages m ON m.id = u.message_id
            WHERE u.status <> 'pending' AND s.callback_url IS NOT NULL AND ('delivery.' || u.status) = ANY(s.callback_events)
            RETURNING id, subscription_id, type, scheduled_at, created_at
        ), attempt_minute AS (
            -- The console's chart: attempts per minute by outcome (migration 8).
            INSERT INTO delivery_attempt_minutes AS m (minute, shard, succeeded, failed)
            SELECT date_trunc('minute', now()), pg_backend_pid() % 8, count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success)
            FROM outcome WHERE NOT is_callback HAVING count(*) > 0
            ON CONFLICT (minute, shard) DO UPDATE SET succeeded = m.succeeded + excluded.succeeded, failed = m.failed + excluded.failed
        ), callback_attempt AS (
            INSERT INTO callback_attempts (id, callback_id, request, response, response_status_code, execution_duration, success, error, error_kind)
            SELECT attempt_id, delivery_id, request, response, status_code, duration, success, error, error_kind FROM outcome WHERE is_callback
            ON CONFLICT (id) DO NOTHING
        ), callback_dequeued AS (
            -- As for deliveries: only while the lease is this attempt's; a finished callback leaves its queue.
            DELETE FROM callback_queue q USING outcome o
            WHERE o.is_callback AND o.new_status <> 'pending' AND q.callback_id = o.delivery_id
                AND (extract(epoch FROM q.leased_until) * 1000000)::bigint = o.lease
            RETURNING q.callback_id, q.scheduled_at
        ), callback_requeued AS (
            UPDATE callback_queue q SET
                scheduled_at = now() + o.retry_delay_ms * interval '1 millisecond', attempts = q.attempts + 1, leased_until = NULL
            FROM outcome o
            WHERE o.is_callback AND o.new_status = 'pending' AND q.callback_id = o.delivery_id
                AND (extract(epoch FROM q.leased_until) * 1000000)::bigint = o.lease
            RETURNING q.callback_id, q.scheduled_at
        ), callback_updated AS (
            -- A callback's outcome changes nothing else: it never causes another callback, nor counts for the
            -- subscription's health.
            UPDATE callbacks c SET
                status = o.new_status,
                attempts = c.attempts + 1,
                scheduled_at = moved.scheduled_at,
                updated_at = now()
            FROM (SELECT * FROM callback_dequeued UNION ALL SELECT * FROM callback_requeued) moved JOIN outcome o ON o.delivery_id = moved.callback_id
            WHERE o.is_callback AND c.id = moved.callback_id
        ), health AS (
            SELECT s.id, h.succeeded,
                CASE
                    WHEN s.status <> 'active' OR h.succeeded THEN NULL
                    WHEN h.gone AND $14::bool THEN 'the endpoint answered 410 Gone'
                    WHEN $15::bigint > 0 AND s.failing_since <= now() - $15::bigint * interval '1 millisecond' THEN
                        'failing without a success since ' || hammer_timestamp(s.failing_since)
                END AS disable_reason
            FROM (
                SELECT subscription_id, bool_or(success) AS succeeded, bool_or(status_code = 410) AS gone
                FROM outcome WHERE NOT is_callback GROUP BY subscription_id
            ) h JOIN subscriptions s ON s.id = h.subscription_id
        ), health_changed AS (
            -- Written only when something changes: the first failure after a success, the first success after failures,
            -- or a disable. Steady traffic leaves the subscription row alone.
            UPDATE subscriptions s SET
                failing_since = CASE WHEN h.succeeded THEN NULL ELSE coalesce(s.failing_since, now()) END,
                status = CASE WHEN h.disable_reason IS NULL THEN s.status ELSE 'disabled' END,
                disabled_reason = coalesce(h.disable_reason, s.disabled_reason),
                disabled_at = CASE WHEN h.disable_reason IS NULL THEN s.disabled_at ELSE now() END
            FROM health h
            WHERE s.id = h.id AND (h.disable_reason IS NOT NULL OR (h.succeeded AND s.failing_since IS NOT NULL)
                OR (NOT h.succeeded AND s.failing_since IS NULL))
            RETURNING s.id, h.disable_reason, s.callback_url, s.callback_events
        ), disabled_event AS (
            INSERT INTO callbacks (id, subscription_id, type, url, body)
            SELECT hammer_ulid(), c.id, 'subscription.disabled', c.callback_url,
                json_build_object('type', 'subscription.disabled', 'subscription_id', c.id, 'reason', c.disable_reason,
                    'disabled_at', hammer_timestamp(now()))::text
            FROM health_changed c
            WHERE c.disable_reason IS NOT NULL AND c.callback_url IS NOT NULL AND 'subscription.disabled' = ANY(c.callback_events)
            RETURNING id, subscription_id, type, scheduled_at, created_at
        ), callback_queued AS (
            INSERT INTO callback_queue (callback_id, subscription_id, type, scheduled_at, created_at)
            SELECT * FROM delivery_event UNION ALL SELECT * FROM disabled_event
        ), notified AS (
            -- Workers claim new callbacks at once.
            SELECT pg_notify('hammer_deliveries', '')
            WHERE EXISTS (SELECT 1 FROM delivery_event) OR EXISTS (SELECT 1 FROM disabled_event)
        )
        SELECT count(*)::int FROM updated WHERE (SELECT count(*) FROM notified) >= 0
        """

    let outcomes: [DeliveryOutcome]
    let autoDisable: AutoDisable

    func makeBindings() throws -> PostgresBindings {
        let results = outcomes.map(\.result)
        var bindings = PostgresBindings(capacity: 21)
        bindings.append(results.map(\.delivery.id))
        bindings.append(results.map(\.attemptID))
        bindings.append(results.map(\.request))
        bindings.append(results.map(\.response))
        bindings.append(results.map { Int32($0.statusCode) })
        bindings.append(results.map { Int32(clamping: $0.durationMilliseconds) })
        bindings.append(results.map(\.success))
        bindings.append(results.map(\.error))
        bindings.append(results.map { $0.errorKind?.rawValue ?? "" })
        bindings.append(outcomes.map(\.status.rawValue))
        bindings.append(outcomes.map { $0.retryDelay.wholeMilliseconds })
        bindings.append(results.map(\.delivery.lease))
        bindings.append(results.map(\.delivery.subscriptionID))
        bindings.append(autoDisable.onGone)
        bindings.append(autoDisable.afterFailingFor?.wholeMilliseconds ?? 0)
        bindings.append(results.map { $0.delivery.isCallback })
        bindings.append(results.map(\.delivery.url))
        bindings.append(results.map { Int32(clamping: $0.delivery.maxDeliveryAttempts) })
        bindings.append(results.map { Int32(clamping: $0.delivery.deliveryAttemptDelay) })
        bindings.append(results.map { Int32(clamping: $0.delivery.deliveryAttemptTimeout) })
        bindings.append(results.map(\.recordedBody.rawValue))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int {
        try row.decode(Int.self)
    }
}
