import Foundation
import Logging
import PostgresNIO

/// The worker's view of the database: claim due deliveries, record outcomes, hand leases back, and hear about
/// publishes. The worker reaches PostgreSQL through this alone.
public struct DeliveryQueue: Sendable {
    let store: Store

    public init(client: PostgresClient, logger: Logger) {
        self.store = Store(client: client, logger: logger)
    }

    /// Message data (base64) one claim returns at most, beyond its first delivery: a claim of 100 large messages
    /// must not hold gigabytes in the worker.
    public static let claimBatchBytes = 32 << 20

    /// Rows and bytes (request and response dumps) of one record statement at most: PostgreSQL refuses a
    /// parameter over 1 GB, and a statement's parameters are held in memory on both sides.
    static let recordBatchRows = 500
    static let recordBatchBytes = 16 << 20

    /// A queue error for the log, without row values a server error may quote.
    static func logDescription(_ error: any Error) -> String { PostgresErrorMapping.logDescription(error) }

    /// Throws unless the schema is the one this build needs.
    public func requireCurrentSchema() async throws {
        try await Migrator(client: store.client, logger: store.logger).requireCurrentSchema()
    }

    /// Claims up to `limit` due deliveries in one statement: subscriptions in the order of their oldest due
    /// delivery, each up to its free send slots (`maxInFlight` less what this worker has in flight to it, from
    /// `inFlight`), oldest `scheduled_at` first within each. Rows are locked with SKIP LOCKED, leased until
    /// `timeout + leaseMargin` from now (`leased_until`), and the statement commits at once, so no lock or
    /// transaction is held while sending. Deliveries in `held` (this worker's, even with a lapsed lease) are skipped.
    /// The claim stops once its message data (base64) reaches `maxBytes`, after at least one delivery. Due callbacks
    /// come first, at most `maxCallbacks`, each subscription's within its cap less `callbacksInFlight` (slots apart
    /// from its deliveries'), none of a disabled subscription but its `subscription.disabled` event.
    public func claim(
        limit: Int,
        leaseMargin: Duration,
        maxInFlight: Int,
        inFlight: [String: Int] = [:],
        held: [String] = [],
        maxBytes: Int = DeliveryQueue.claimBatchBytes,
        callbacksInFlight: [String: Int] = [:],
        maxCallbacks: Int = 16
    ) async throws -> Claim {
        let rows = try await store.execute(
            ClaimStatement(
                limit: limit,
                leaseMarginSeconds: Int(leaseMargin.components.seconds),
                maxInFlight: maxInFlight,
                inFlight: inFlight,
                held: held,
                maxBytes: maxBytes,
                callbacksInFlight: callbacksInFlight,
                maxCallbacks: max(0, maxCallbacks)
            )
        )
        var deliveries: [ClaimedDelivery] = []
        var starved = false
        var rateLimitedFor: Duration?
        for row in rows {
            switch row {
            case .delivery(let delivery): deliveries.append(delivery)
            case .summary(let noShare, let milliseconds):
                starved = noShare
                rateLimitedFor = milliseconds.map { .milliseconds($0) }
            }
        }
        // A claim comes back short when all due deliveries fit, or when subscriptions reached their cap; or when
        // the limit was shared out before every subscription with due deliveries got a part.
        let bytes = deliveries.reduce(0) { $0 + $1.dataBase64.utf8.count }
        return Claim(deliveries: deliveries, mayLeaveDue: deliveries.count >= limit || bytes >= maxBytes || starved, rateLimitedFor: rateLimitedFor)
    }

    /// Records attempts and their deliveries' new states, many per statement (one transaction each).
    /// A delivery whose lease was lost (taken over after expiry) keeps its state; its attempt is still recorded.
    /// A batch PostgreSQL refuses for what it holds (not for being unreachable) is split until the refused outcome
    /// is alone; that one is recorded without its request and response dumps, and its delivery id returned, so one
    /// bad row never stops the others. Throws only when the database is unavailable.
    @discardableResult
    /// Each batch also keeps its subscriptions' health: the time they started failing, and a disable `autoDisable`
    /// asks for (on `410 Gone`, or after failing without a success for long enough).
    public func record(_ outcomes: [DeliveryOutcome], autoDisable: AutoDisable = AutoDisable()) async throws -> [String] {
        var setAside: [String] = []
        var start = 0
        while start < outcomes.count {
            var end = start
            var bytes = 0
            while end < outcomes.count, end - start < Self.recordBatchRows {
                let size = outcomes[end].result.request.utf8.count + outcomes[end].result.response.utf8.count
                if end > start, bytes + size > Self.recordBatchBytes { break }
                bytes += size
                end += 1
            }
            setAside += try await recordSplitting(outcomes[start..<end], autoDisable: autoDisable)
            start = end
        }
        return setAside
    }

    private func recordSplitting(_ outcomes: ArraySlice<DeliveryOutcome>, autoDisable: AutoDisable) async throws -> [String] {
        do {
            _ = try await store.execute(RecordStatement(outcomes: Array(outcomes), autoDisable: autoDisable))
            return []
        } catch  where !PostgresErrorMapping.isUnavailable(error) && !PostgresErrorMapping.isConflict(error) && !(error is HammerError) {
            guard outcomes.count > 1 else {
                let outcome = outcomes[outcomes.startIndex]
                store.logger.error(
                    "an attempt could not be recorded as it is; recording it without its dumps",
                    metadata: ["hammer.delivery.id": "\(outcome.result.delivery.id)", "error": "\(PostgresErrorMapping.logDescription(error))"]
                )
                _ = try await store.execute(
                    RecordStatement(outcomes: [outcome.strippedForRecording(PostgresErrorMapping.sqlState(error))], autoDisable: autoDisable)
                )
                return [outcome.result.delivery.id]
            }
            let middle = outcomes.startIndex + outcomes.count / 2
            return try await recordSplitting(outcomes[..<middle], autoDisable: autoDisable)
                + recordSplitting(outcomes[middle...], autoDisable: autoDisable)
        }
    }

    /// Ends the leases of deliveries not sent, so another worker takes them at once (graceful shutdown).
    public func release(_ deliveries: [ClaimedDelivery]) async throws {
        guard !deliveries.isEmpty else { return }
        let query: PostgresQuery = """
            UPDATE delivery_queue q SET leased_until = NULL
            FROM unnest(\(deliveries.map(\.id))::text[], \(deliveries.map(\.lease))::bigint[]) AS r(id, lease)
            WHERE q.delivery_id = r.id AND q.status = 'pending' AND (extract(epoch FROM q.leased_until) * 1000000)::bigint = r.lease
            """
        try await store.client.query(query, logger: store.logger)
    }

    /// Calls `onPublish` for every publish notification, and once after each (re)connection to catch up on what
    /// was published meanwhile; reconnects after failures until the calling task is cancelled.
    public func listenForPublishes(_ onPublish: @escaping @Sendable () -> Void) async {
        let logger = store.logger
        while !Task.isCancelled {
            do {
                try await store.client.withConnection { connection in
                    try await connection.listen(on: Store.deliveriesChannel) { notifications in
                        onPublish()
                        for try await _ in notifications { onPublish() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("LISTEN connection lost; reconnecting", metadata: ["error": "\(PostgresErrorMapping.logDescription(error))"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}

extension DeliveryOutcome {
    /// The outcome with its dumps replaced by a note, for an attempt PostgreSQL would not store as it was.
    func strippedForRecording(_ sqlState: String?) -> DeliveryOutcome {
        var copy = self
        let note = "[not recorded: PostgreSQL refused this attempt's record (SQLSTATE \(sqlState ?? "unknown"))]"
        copy.result.request = note
        copy.result.response = copy.result.statusCode > 0 ? note : ""
        copy.result.error = String(copy.result.error.unicodeScalars.filter { $0 != "\0" }.prefix(1000).map(Character.init))
        return copy
    }
}

/// The claim, prepared once per connection (see docs/scheduling.md). Per active subscription with a free send slot,
/// one index probe: for its oldest due delivery, or for an ordered one its head in publish order (claimable only when
/// due and not leased). Rate-limited candidates are locked (SKIP LOCKED: a claim in another worker holding one skips
/// it) and capped by their token bucket. The subscriptions whose oldest is oldest share `$1` rows, each up to its free
/// slots; those rows are locked (SKIP LOCKED) and leased in the same statement, as many as fit in `$7` bytes of message
/// data (at least one), and the tokens spent are written back. A subscription at its cap costs one probe, whatever its
/// backlog. The last row is a summary: whether a subscription with due deliveries got no share, and how soon a
/// rate-limited one has a token again.
struct ClaimStatement: PostgresPreparedStatement {
    enum Row: Sendable {
        case delivery(ClaimedDelivery)
        case summary(starved: Bool, rateLimitedForMilliseconds: Int?)
    }

    static let sql = """
        WITH in_flight AS (
            SELECT * FROM unnest($3::text[], $4::int[]) AS f(subscription_id, sends)
        ), callback_due AS (
            -- Due callbacks have send slots apart from deliveries': per subscription its cap less its callbacks in flight
            -- ($9, $10), and $8 more in all; they wait while their subscription is disabled, but the event that says so.
            -- Those that could not be taken now are left out before the window of the oldest 1,000, so they never
            -- fill it for everyone else.
            SELECT c.id, c.scheduled_at, c.room,
                row_number() OVER (PARTITION BY c.subscription_id ORDER BY c.scheduled_at, c.id) AS position
            FROM (
                SELECT cb.id, cb.subscription_id, cb.scheduled_at,
                    CASE WHEN s.ordered THEN 1 ELSE coalesce(s.max_in_flight, $5::int) END - coalesce(f.sends, 0) AS room
                FROM callbacks cb
                JOIN subscriptions s ON s.id = cb.subscription_id
                LEFT JOIN unnest($9::text[], $10::int[]) AS f(subscription_id, sends) ON f.subscription_id = cb.subscription_id
                WHERE cb.status = 'pending' AND cb.scheduled_at <= now() AND (cb.leased_until IS NULL OR cb.leased_until <= now())
                    AND cb.id <> ALL($6::text[]) AND (s.status = 'active' OR cb.type = 'subscription.disabled')
                    AND coalesce(f.sends, 0) < CASE WHEN s.ordered THEN 1 ELSE coalesce(s.max_in_flight, $5::int) END
                ORDER BY cb.scheduled_at
                LIMIT 1000
            ) c
        ), callback_picked AS (
            SELECT id FROM callback_due WHERE position <= room ORDER BY scheduled_at LIMIT least($1, $8)
        ), callback_claimed AS (
            UPDATE callbacks c
            SET leased_until = date_trunc('milliseconds', now()) + make_interval(secs => s.delivery_attempt_timeout + $2)
            FROM (
                -- Checked again on the row locked: another claim may have leased it since this one's snapshot.
                SELECT id FROM callbacks
                WHERE id IN (SELECT id FROM callback_picked)
                    AND status = 'pending' AND scheduled_at <= now() AND (leased_until IS NULL OR leased_until <= now())
                FOR UPDATE SKIP LOCKED
            ) due, subscriptions s
            WHERE c.id = due.id AND s.id = c.subscription_id
            RETURNING c.id, ''::varchar, c.subscription_id, ''::varchar, 'application/json'::text, ''::text, c.type, c.created_at, c.url,
                s.secret_token, CASE WHEN s.previous_secret_expires_at > now() THEN s.previous_secret_token END,
                'POST'::varchar, '{}'::text, NULL::text, 'cloudevents'::varchar, NULL::text, 'application/json'::text,
                s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout, c.attempts,
                (extract(epoch FROM c.leased_until) * 1000000)::bigint, NULL::int, false, c.body
        ), candidate AS (
            SELECT s.id, s.rate_limit, head.id AS head_id, head.scheduled_at AS head,
                CASE WHEN s.ordered THEN 1 ELSE coalesce(s.max_in_flight, $5::int) END AS cap,
                CASE WHEN s.ordered THEN 1 ELSE coalesce(s.max_in_flight, $5::int) END - coalesce(f.sends, 0) AS room
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
            WHERE s.status = 'active' AND coalesce(f.sends, 0) < CASE WHEN s.ordered THEN 1 ELSE coalesce(s.max_in_flight, $5::int) END
            -- Oldest due first; among equals, the subscription with the fewest sends in flight, so ties rotate.
            ORDER BY head.scheduled_at, room DESC, s.id
            LIMIT $1
        ), rate AS (
            SELECT s.id, s.rate_limit,
                least(s.rate_limit::float8, s.rate_tokens + (date_part('epoch', now()) - date_part('epoch', s.rate_refilled_at)) * s.rate_limit) AS tokens
            FROM subscriptions s
            WHERE s.id IN (SELECT id FROM candidate WHERE rate_limit IS NOT NULL)
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
                -- octet_length reads a stored value's size without fetching or decompressing it.
                SELECT q.delivery_id AS id, d.topic_id, d.message_id, d.delivery_attempts, m.content_type, m.data, m.event_type,
                    m.created_at, octet_length(m.data) AS bytes
                FROM delivery_queue q JOIN deliveries d ON d.id = q.delivery_id JOIN messages m ON m.id = d.message_id
                WHERE share.head_id IS NULL AND q.subscription_id = share.id AND q.status = 'pending' AND q.scheduled_at <= now()
                    AND (q.leased_until IS NULL OR q.leased_until <= now()) AND q.delivery_id <> ALL($6::text[])
                ORDER BY q.scheduled_at
                LIMIT greatest(share.take, 0)
                FOR UPDATE OF q SKIP LOCKED
            ) picked
            UNION ALL
            -- The head of an ordered subscription, by id: another claim holding it means this one takes nothing, never
            -- the delivery after it.
            SELECT share.id, share.cap, picked.* FROM share CROSS JOIN LATERAL (
                SELECT q.delivery_id AS id, d.topic_id, d.message_id, d.delivery_attempts, m.content_type, m.data, m.event_type,
                    m.created_at, octet_length(m.data) AS bytes
                FROM delivery_queue q JOIN deliveries d ON d.id = q.delivery_id JOIN messages m ON m.id = d.message_id
                WHERE q.delivery_id = share.head_id AND share.take > 0 AND q.status = 'pending' AND q.scheduled_at <= now()
                    AND (q.leased_until IS NULL OR q.leased_until <= now())
                FOR UPDATE OF q SKIP LOCKED
            ) picked
        ), sized AS (
            SELECT *, sum(bytes) OVER (ORDER BY id) - bytes AS bytes_before FROM due
        ), claimed AS (
            -- The attempt uses the subscription's settings as they are now (a PATCH reaches pending deliveries); its
            -- record writes the ones it used into the delivery, which is what a finished delivery shows. The claim
            -- writes only the lease, on the queue's narrow row.
            UPDATE delivery_queue q
            SET leased_until = date_trunc('milliseconds', now()) + make_interval(secs => s.delivery_attempt_timeout + $2)
            FROM sized m JOIN subscriptions s ON s.id = m.subscription_id
            WHERE q.delivery_id = m.id AND m.bytes_before < $7
            RETURNING q.delivery_id, m.topic_id, q.subscription_id, m.message_id, m.content_type, m.data, m.event_type, m.created_at, s.url,
                s.secret_token, CASE WHEN s.previous_secret_expires_at > now() THEN s.previous_secret_token END,
                s.http_method, s.headers::text, s.auth::text, s.payload_format, s.payload_template, s.payload_content_type,
                s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout, m.delivery_attempts,
                (extract(epoch FROM q.leased_until) * 1000000)::bigint, m.cap, s.ordered
        ), spent AS (
            UPDATE subscriptions s SET rate_tokens = r.tokens - n.taken, rate_refilled_at = now()
            FROM rate r JOIN (SELECT subscription_id, count(*) AS taken FROM claimed GROUP BY subscription_id) n ON n.subscription_id = r.id
            WHERE s.id = r.id
        )
        SELECT 'delivery', *, NULL::text, NULL::bool, NULL::int FROM claimed
        UNION ALL
        SELECT 'callback', *, NULL, NULL FROM callback_claimed
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
        delivery.callbackBody = try columns.next(String?.self)
        return .delivery(delivery)
    }
}

/// Many attempts and their deliveries' new states in one prepared statement (one transaction). A delivery whose
/// lease was lost (taken over after expiry) keeps its state; its attempt is still recorded.
struct RecordStatement: PostgresPreparedStatement {
    typealias Row = Int

    static let sql = """
        WITH outcome AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::bool[], $8::text[], $9::text[],
                $10::text[], $11::bigint[], $12::bigint[], $13::text[], $16::bool[], $17::text[], $18::int[], $19::int[], $20::int[]
            ) AS o(delivery_id, attempt_id, request, response, status_code, duration, success, error, error_kind, new_status, retry_delay_ms,
                lease, subscription_id, is_callback, url, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
            WHERE CASE WHEN o.is_callback THEN EXISTS (SELECT 1 FROM callbacks c WHERE c.id = o.delivery_id)
                ELSE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = o.delivery_id) END
        ), attempt AS (
            INSERT INTO delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, error, error_kind)
            SELECT attempt_id, delivery_id, request, response, status_code, duration, success, error, error_kind FROM outcome WHERE NOT is_callback
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
                leased_until = NULL
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
            RETURNING 1
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
        ), callback_updated AS (
            -- A callback's outcome changes nothing else: it never causes another callback, nor counts for the
            -- subscription's health.
            UPDATE callbacks c SET
                status = o.new_status,
                attempts = c.attempts + 1,
                scheduled_at = CASE WHEN o.new_status = 'pending' THEN now() + o.retry_delay_ms * interval '1 millisecond' ELSE c.scheduled_at END,
                leased_until = NULL,
                updated_at = now()
            FROM outcome o
            WHERE o.is_callback AND c.id = o.delivery_id AND c.status = 'pending'
                AND (extract(epoch FROM c.leased_until) * 1000000)::bigint = o.lease
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
            RETURNING 1
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
        var bindings = PostgresBindings(capacity: 20)
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
        bindings.append(results.map { $0.delivery.callbackBody != nil })
        bindings.append(results.map(\.delivery.url))
        bindings.append(results.map { Int32(clamping: $0.delivery.maxDeliveryAttempts) })
        bindings.append(results.map { Int32(clamping: $0.delivery.deliveryAttemptDelay) })
        bindings.append(results.map { Int32(clamping: $0.delivery.deliveryAttemptTimeout) })
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int {
        try row.decode(Int.self)
    }
}
