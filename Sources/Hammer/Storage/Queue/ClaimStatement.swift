import Foundation
import Logging
import PostgresNIO

/// The claim, prepared once per connection (see docs/scheduling.md). Per active subscription with a free send slot,
/// one index probe: for its oldest due delivery, or for an ordered one its head in publish order (claimable only when
/// due and not leased). Rate-limited candidates are locked (SKIP LOCKED: a claim in another worker holding one skips
/// it) and capped by their token bucket. The subscriptions whose oldest is oldest share `$1` rows, each up to its free
/// slots; those rows are locked (SKIP LOCKED) and leased in the same statement, as many as fit in `$7` bytes of message
/// data (at least one), and the tokens spent are written back. A subscription at its cap costs one probe, whatever its
/// backlog. The last row is a summary: whether a subscription with due deliveries got no share, and how soon a
/// rate-limited one has a token again.
///
/// It reads only the queues and `subscriptions` by keys found as it runs: a prepared statement's plan would open and
/// lock every partition of a partitioned table read that way. What lies in partitions (a message's content type, data
/// and event type, a callback's url and body) it reads through `hammer_rows_by_id`, which plans that query for the
/// ids picked, pruned to their periods, before leasing them: one whose message or callback it does not find is
/// not leased.
struct ClaimStatement: PostgresPreparedStatement {
    enum Row: Sendable {
        case delivery(ClaimedDelivery)
        case summary(starved: Bool, rateLimitedForMilliseconds: Int?)
    }

    static let sql = """
        WITH RECURSIVE in_flight AS (
            SELECT * FROM unnest($3::text[], $4::int[]) AS f(subscription_id, sends)
        ), callback_due AS (
            -- Due callbacks have send slots apart from deliveries': per subscription its cap less its callbacks in flight
            -- ($9, $10), and $8 more in all; they wait while their subscription is disabled, but the event that says so.
            -- Those that could not be taken now are left out before the window of the oldest 1,000, so they never
            -- fill it for everyone else.
            SELECT c.callback_id AS id, c.scheduled_at, c.room,
                row_number() OVER (PARTITION BY c.subscription_id ORDER BY c.scheduled_at, c.callback_id) AS position
            FROM (
                SELECT cq.callback_id, cq.subscription_id, cq.scheduled_at,
                    CASE WHEN s.ordered THEN 1 ELSE coalesce(s.max_in_flight, $5::int) END - coalesce(f.sends, 0) AS room
                FROM callback_queue cq
                JOIN subscriptions s ON s.id = cq.subscription_id
                LEFT JOIN unnest($9::text[], $10::int[]) AS f(subscription_id, sends) ON f.subscription_id = cq.subscription_id
                WHERE cq.scheduled_at <= now() AND (cq.leased_until IS NULL OR cq.leased_until <= now())
                    AND cq.callback_id <> ALL($6::text[]) AND (s.status = 'active' OR cq.type = 'subscription.disabled')
                    AND coalesce(f.sends, 0) < CASE WHEN s.ordered THEN 1 ELSE coalesce(s.max_in_flight, $5::int) END
                ORDER BY cq.scheduled_at
                LIMIT 1000
            ) c
        ), callback_picked AS (
            SELECT id FROM callback_due WHERE position <= room ORDER BY scheduled_at LIMIT least($1, $8)
        ), callback_contents AS (
            -- A callback's url and body, by id, pruned to its period: see hammer_rows_by_id (migration 14). One not
            -- found (deleted, or moved by retention since this statement's snapshot) is not leased: the next claim
            -- sees it again.
            SELECT id, url, body FROM hammer_rows_by_id(NULL::callbacks, ARRAY(SELECT id FROM callback_picked))
        ), callback_claimed AS (
            UPDATE callback_queue c
            SET leased_until = date_trunc('milliseconds', now()) + make_interval(secs => s.delivery_attempt_timeout + $2)
            FROM (
                -- Checked again on the row locked: another claim may have leased it since this one's snapshot.
                SELECT callback_id FROM callback_queue
                WHERE callback_id IN (SELECT id FROM callback_contents) AND scheduled_at <= now() AND (leased_until IS NULL OR leased_until <= now())
                FOR UPDATE SKIP LOCKED
            ) due, subscriptions s
            WHERE c.callback_id = due.callback_id AND s.id = c.subscription_id
            RETURNING c.callback_id, c.subscription_id, c.type, c.created_at, s.secret_token,
                CASE WHEN s.previous_secret_expires_at > now() THEN s.previous_secret_token END AS previous_secret_token,
                s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout, c.attempts,
                (extract(epoch FROM c.leased_until) * 1000000)::bigint AS lease
        ), pending_subscription AS (
            -- The subscriptions with deliveries pending, found by skipping through the pending queue's index one
            -- subscription at a time: a claim probes those, however many subscriptions have nothing to send.
            (SELECT q.subscription_id FROM delivery_queue q WHERE q.status = 'pending' ORDER BY q.subscription_id LIMIT 1)
            UNION ALL
            SELECT (
                SELECT q.subscription_id FROM delivery_queue q
                WHERE q.status = 'pending' AND q.subscription_id > p.subscription_id
                ORDER BY q.subscription_id
                LIMIT 1
            )
            FROM pending_subscription p
            WHERE p.subscription_id IS NOT NULL
        ), candidate AS (
            SELECT s.id, s.rate_limit, head.id AS head_id, head.scheduled_at AS head,
                CASE WHEN s.ordered THEN 1 ELSE coalesce(s.max_in_flight, $5::int) END AS cap,
                CASE WHEN s.ordered THEN 1 ELSE coalesce(s.max_in_flight, $5::int) END - coalesce(f.sends, 0) AS room
            -- The subscriptions found, by key: not a scan of every subscription to join them.
            FROM subscriptions s
            LEFT JOIN in_flight f ON f.subscription_id = s.id
            CROSS JOIN LATERAL (
                (SELECT NULL::varchar AS id, q.scheduled_at FROM delivery_queue q
                    WHERE NOT s.ordered AND q.subscription_id = s.id AND q.status = 'pending' AND q.scheduled_at <= now()
                        AND (q.leased_until IS NULL OR q.leased_until <= now()) AND q.delivery_id <> ALL($6::text[])
                    ORDER BY q.scheduled_at
                    LIMIT 1)
                UNION ALL
                -- Ordered: only the head in publish order, and only when it is due and no one holds it.
                (SELECT h.id, h.scheduled_at FROM (
                        SELECT q.delivery_id AS id, q.scheduled_at, q.leased_until FROM delivery_queue q
                        WHERE s.ordered AND q.subscription_id = s.id AND q.status = 'pending'
                        ORDER BY q.created_at, q.delivery_id
                        LIMIT 1
                    ) h
                    WHERE h.scheduled_at <= now() AND (h.leased_until IS NULL OR h.leased_until <= now()) AND h.id <> ALL($6::text[]))
            ) head
            WHERE s.id = ANY(ARRAY(SELECT subscription_id FROM pending_subscription WHERE subscription_id IS NOT NULL))
                AND s.status = 'active' AND coalesce(f.sends, 0) < CASE WHEN s.ordered THEN 1 ELSE coalesce(s.max_in_flight, $5::int) END
            -- Oldest due first; among equals, the subscription with the fewest sends in flight, so ties rotate.
            ORDER BY head.scheduled_at, room DESC, s.id
            LIMIT $1
        ), rate AS (
            SELECT s.id, s.rate_limit,
                least(s.rate_limit::float8, s.rate_tokens + (date_part('epoch', now()) - date_part('epoch', s.rate_refilled_at)) * s.rate_limit) AS tokens
            FROM subscriptions s
            WHERE s.id = ANY(ARRAY(SELECT id FROM candidate WHERE rate_limit IS NOT NULL))
            FOR NO KEY UPDATE SKIP LOCKED
        ), allowed AS (
            SELECT c.id, c.head_id, c.head, c.cap, c.rate_limit,
                CASE WHEN c.rate_limit IS NULL THEN c.room ELSE least(c.room, floor(coalesce(r.tokens, 0))::int) END AS room
            FROM candidate c LEFT JOIN rate r ON r.id = c.id
        ), share AS (
            SELECT id, head_id, cap,
                least(room, $1 - (SELECT count(*) FROM callback_claimed)
                    - coalesce(sum(room) OVER (ORDER BY head, room DESC, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)) AS take
            FROM allowed
            WHERE room > 0
        ), due AS (
            SELECT share.id AS subscription_id, share.cap, picked.* FROM share CROSS JOIN LATERAL (
                SELECT q.delivery_id AS id, q.topic_id, q.message_id, q.delivery_attempts, q.created_at, q.message_bytes AS bytes
                FROM delivery_queue q
                WHERE share.head_id IS NULL AND q.subscription_id = share.id AND q.status = 'pending' AND q.scheduled_at <= now()
                    AND (q.leased_until IS NULL OR q.leased_until <= now()) AND q.delivery_id <> ALL($6::text[])
                ORDER BY q.scheduled_at
                LIMIT greatest(share.take, 0)
                FOR UPDATE SKIP LOCKED
            ) picked
            UNION ALL
            -- The head of an ordered subscription, by id: another claim holding it means this one takes nothing, never
            -- the delivery after it.
            SELECT share.id, share.cap, picked.* FROM share CROSS JOIN LATERAL (
                SELECT q.delivery_id AS id, q.topic_id, q.message_id, q.delivery_attempts, q.created_at, q.message_bytes AS bytes
                FROM delivery_queue q
                WHERE q.delivery_id = share.head_id AND share.take > 0 AND q.status = 'pending' AND q.scheduled_at <= now()
                    AND (q.leased_until IS NULL OR q.leased_until <= now())
                FOR UPDATE SKIP LOCKED
            ) picked
        ), sized AS (
            SELECT *, sum(bytes) OVER (ORDER BY id) - bytes AS bytes_before FROM due
        ), message_contents AS (
            -- The messages' content type, data and event type, as for callbacks: a delivery whose message is not found
            -- is not leased.
            SELECT id, content_type, data, event_type FROM hammer_rows_by_id(NULL::messages, ARRAY(SELECT message_id FROM sized WHERE bytes_before < $7))
        ), claimed AS (
            -- The attempt uses the subscription's settings as they are now (a PATCH reaches pending deliveries); its
            -- record writes the ones it used into the delivery, which is what a finished delivery shows. The claim
            -- writes only the lease, on the queue's narrow row.
            UPDATE delivery_queue q
            SET leased_until = date_trunc('milliseconds', now()) + make_interval(secs => s.delivery_attempt_timeout + $2)
            FROM sized m JOIN subscriptions s ON s.id = m.subscription_id
            -- The subscriptions sharing this claim by key, not a scan of every subscription to join them.
            WHERE q.delivery_id = m.id AND m.bytes_before < $7 AND s.id = ANY(ARRAY(SELECT id FROM share))
                AND m.message_id IN (SELECT id FROM message_contents)
            RETURNING q.delivery_id, m.topic_id, q.subscription_id, m.message_id, m.created_at, s.url, s.secret_token,
                CASE WHEN s.previous_secret_expires_at > now() THEN s.previous_secret_token END AS previous_secret_token,
                s.http_method, s.headers::text AS headers, s.auth::text AS auth, s.payload_format, s.payload_template, s.payload_content_type,
                s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout, m.delivery_attempts,
                (extract(epoch FROM q.leased_until) * 1000000)::bigint AS lease, m.cap, s.ordered
        ), spent AS (
            UPDATE subscriptions s SET rate_tokens = r.tokens - n.taken, rate_refilled_at = now()
            FROM rate r JOIN (SELECT subscription_id, count(*) AS taken FROM claimed GROUP BY subscription_id) n ON n.subscription_id = r.id
            WHERE s.id = r.id
        )
        SELECT 'delivery', d.delivery_id, d.topic_id, d.subscription_id, d.message_id, x.content_type, x.data, x.event_type, d.created_at,
            d.url, d.secret_token, d.previous_secret_token, d.http_method, d.headers, d.auth, d.payload_format, d.payload_template,
            d.payload_content_type, d.max_delivery_attempts, d.delivery_attempt_delay, d.delivery_attempt_timeout, d.delivery_attempts,
            d.lease, d.cap, d.ordered, NULL::text, NULL::bool, NULL::int
        FROM claimed d JOIN message_contents x ON x.id = d.message_id
        UNION ALL
        SELECT 'callback', c.callback_id, '', c.subscription_id, '', 'application/json', '', c.type, c.created_at,
            x.url, c.secret_token, c.previous_secret_token, 'POST', '{}', NULL, 'cloudevents', NULL, 'application/json',
            c.max_delivery_attempts, c.delivery_attempt_delay, c.delivery_attempt_timeout, c.attempts, c.lease, NULL, false, x.body, NULL, NULL
        FROM callback_claimed c JOIN callback_contents x ON x.id = c.callback_id
        UNION ALL
        SELECT 'summary', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            NULL, NULL, NULL, NULL, NULL, NULL, EXISTS (SELECT 1 FROM share WHERE take <= 0),
            -- Locked by another claim: soon; out of tokens: when the next token comes.
            (SELECT min(CASE WHEN r.id IS NULL THEN 50 ELSE ceil(1000.0 / a.rate_limit)::int END)
                FROM allowed a LEFT JOIN rate r ON r.id = a.id JOIN candidate c ON c.id = a.id
                WHERE a.rate_limit IS NOT NULL AND a.room < c.room)
        """

    let limit: Int
    let leaseMarginSeconds: Int
    let maxInFlight: Int
    let inFlight: [String: Int]
    let held: [String]
    let maxBytes: Int
    let callbacksInFlight: [String: Int]
    let maxCallbacks: Int

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 10)
        bindings.append(limit)
        bindings.append(leaseMarginSeconds)
        bindings.append(Array(inFlight.keys))
        bindings.append(inFlight.values.map { Int32(clamping: $0) })
        bindings.append(maxInFlight)
        bindings.append(held)
        bindings.append(maxBytes)
        bindings.append(maxCallbacks)
        bindings.append(Array(callbacksInFlight.keys))
        bindings.append(callbacksInFlight.values.map { Int32(clamping: $0) })
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        var columns = ColumnReader(row)
        let kind: String = try columns.next()
        if kind == "summary" {
            let cells = row.makeRandomAccess()
            return .summary(
                starved: try cells[cells.count - 2].decode(Bool.self),
                rateLimitedForMilliseconds: try cells[cells.count - 1].decode(Int?.self)
            )
        }
        var delivery = ClaimedDelivery(
            id: try columns.next(),
            topicID: try columns.next(),
            subscriptionID: try columns.next(),
            messageID: try columns.next(),
            contentType: try columns.next(),
            dataBase64: try columns.next(),
            eventType: try columns.next(),
            publishedAt: try columns.next(),
            url: try columns.next(),
            secretToken: try columns.next(),
            previousSecretToken: try columns.next(),
            options: try Store.deliveryOptions(&columns),
            maxDeliveryAttempts: try columns.next(),
            deliveryAttemptDelay: try columns.next(),
            deliveryAttemptTimeout: try columns.next(),
            deliveryAttempts: try columns.next(),
            lease: try columns.next(),
            maxInFlight: try columns.next(),
            ordered: try columns.next()
        )
        if let body = try columns.next(String?.self) { delivery.kind = .callback(body: body) }
        return .delivery(delivery)
    }
}
