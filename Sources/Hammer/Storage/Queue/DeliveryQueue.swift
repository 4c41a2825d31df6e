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

    /// Ends the leases of deliveries and callbacks not sent, so another worker takes them at once (graceful shutdown).
    public func release(_ deliveries: [ClaimedDelivery]) async throws {
        guard !deliveries.isEmpty else { return }
        let query: PostgresQuery = """
            WITH released AS (
                SELECT * FROM unnest(\(deliveries.map(\.id))::text[], \(deliveries.map(\.lease))::bigint[]) AS r(id, lease)
            ), delivery AS (
                UPDATE delivery_queue q SET leased_until = NULL FROM released r
                WHERE q.delivery_id = r.id AND q.status = 'pending' AND (extract(epoch FROM q.leased_until) * 1000000)::bigint = r.lease
            )
            UPDATE callback_queue q SET leased_until = NULL FROM released r
            WHERE q.callback_id = r.id AND (extract(epoch FROM q.leased_until) * 1000000)::bigint = r.lease
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
        copy.result.recordedBody = .stored
        copy.result.response = copy.result.statusCode > 0 ? note : ""
        copy.result.error = String(copy.result.error.unicodeScalars.filter { $0 != "\0" }.prefix(1000).map(Character.init))
        return copy
    }
}
