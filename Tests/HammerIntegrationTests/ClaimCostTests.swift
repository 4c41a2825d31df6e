import Foundation
import PostgresNIO
import Testing

@testable import Hammer

/// A claim's cost follows the subscriptions with work, not every subscription: thousands of subscriptions with nothing
/// pending add nothing to what one claim reads, and a worker drains a busy topic beside them.
@Suite struct ClaimCostTests {
    @Test func subscriptionsWithNothingPendingAddNothingToAClaim() async throws {
        try await Fixture.withReceiver { url, fixture, receiver in
            try await fixture.topic("busy")
            try await fixture.topic("quiet")
            for index in 0..<10 { try await fixture.subscription("busy-\(index)", topic: "busy", url: receiver.url) }
            for _ in 0..<20 { try await fixture.publish(topic: "busy") }
            // Both measurements start from the same state: no dead row versions (a measured claim's leases are
            // undone by an update), fresh statistics.
            try await fixture.client.query("VACUUM ANALYZE")
            let alone = try await Self.blocksReadByOneClaim(fixture.client)

            try await fixture.client.query(
                """
                INSERT INTO subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay,
                    delivery_attempt_timeout)
                SELECT 'quiet-' || i, 'quiet', 'quiet', 'http://127.0.0.1:1/', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 5, 1, 5
                FROM generate_series(1, 3000) i
                """
            )
            try await fixture.client.query("VACUUM ANALYZE")
            let beside = try await Self.blocksReadByOneClaim(fixture.client)
            // Probing each of 3,000 subscriptions reads thousands of index pages more (3,474 blocks in all, measured); looking
            // the 10 busy ones up by key in a larger table, and the planner's other choices for it, a few dozen.
            #expect(beside <= alone + 200, "one claim read \(alone) blocks alone and \(beside) beside 3,000 idle subscriptions")

            let worker = try TestWorker.start(url)
            try await eventually("the busy topic drained") { try await fixture.statuses() == ["completed": 200] }
            try await worker.stop()
            #expect(await receiver.log.count == 200)
        }
    }

    /// History in many periods costs a claim nothing: even in a generic plan (which opens and locks every partition of
    /// a partitioned table read by a key found as it runs), a claim opens only its messages' partition, however many
    /// periods there are.
    @Test func aClaimOpensNoPartitionOfOtherPeriods() async throws {
        try await Fixture.withOrders(subscriptions: ["a", "b"]) { fixture in
            try await fixture.client.addPastPeriods(daysAgo: Array(2...61))
            for _ in 0..<5 { try await fixture.publish(topic: "orders") }
            let periods = try await fixture.count("SELECT count(*) FROM partition_periods")
            #expect(periods > 60)

            let claimed = try await fixture.client.withConnection { connection in
                // The claim is prepared; PostgreSQL may choose a generic plan for it after five executions.
                try await connection.query("SET plan_cache_mode = force_generic_plan", logger: connection.logger)
                let claim = Self.claimOf100
                try await connection.query("BEGIN", logger: connection.logger)
                var claimed: [ClaimedDelivery] = []
                for try await row in try await connection.execute(claim, logger: connection.logger) {
                    if case .delivery(let delivery) = row { claimed.append(delivery) }
                }
                #expect(!claimed.isEmpty)
                #expect(claimed.allSatisfy { $0.dataBase64 == Data(#"{"hello":"world"}"#.utf8).base64EncodedString() })
                // The claimed messages' partition only (callbacks' too, where it reads one).
                let lockedByClaim = try await Self.partitionsLocked(connection)
                #expect(Set(lockedByClaim.map(Self.period)).count == 1, "\(lockedByClaim)")
                #expect(lockedByClaim.count <= 2, "\(lockedByClaim)")
                try await connection.query("COMMIT", logger: connection.logger)
                return claimed
            }
            // What it returns is what a worker sends and records.
            try await DeliveryQueue(client: fixture.client, logger: TestDatabase.logger).record(claimed.map(DeliveryOutcome.completion(of:)))
            #expect(try await fixture.count("SELECT count(*) FROM deliveries WHERE status = 'completed'") == claimed.count)
            #expect(try await fixture.count("SELECT count(*) FROM delivery_attempts") == claimed.count)
        }
    }

    /// The period a partition's name gives (`deliveries_p20261203t000000` → `20261203t000000`).
    static func period(_ partition: String) -> String {
        partition.split(separator: "_p").last.map(String.init) ?? partition
    }

    /// The partitions (tables, not their indexes) this connection's transaction holds a lock on.
    static func partitionsLocked(_ connection: PostgresConnection) async throws -> [String] {
        try await connection.query(
            """
            SELECT DISTINCT c.relname::text FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE l.pid = pg_backend_pid() AND c.relispartition AND c.relkind = 'r' ORDER BY 1
            """,
            logger: connection.logger
        ).collect().map { try $0.decode(String.self) }
    }

    /// A worker's claim of 100 with nothing in flight.
    static let claimOf100 = ClaimStatement(
        limit: 100,
        leaseMarginSeconds: 30,
        maxInFlight: 100,
        inFlight: [:],
        held: [],
        maxBytes: 32 << 20,
        callbacksInFlight: [:],
        maxCallbacks: 25
    )

    /// The shared blocks (hit or read) one claim of 100 reads, from its plan; its leases are undone afterwards.
    static func blocksReadByOneClaim(_ client: PostgresClient) async throws -> Int {
        let claim = claimOf100
        let rows = try await client.query(
            PostgresQuery(unsafeSQL: "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + ClaimStatement.sql, binds: try claim.makeBindings())
        ).collect()
        try await client.query("UPDATE delivery_queue SET leased_until = NULL")
        let text = try rows.map { try $0.decode(String.self) }.joined()
        let plans = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        let plan = try #require(plans.first?["Plan"] as? [String: Any])
        return (plan["Shared Hit Blocks"] as? Int ?? 0) + (plan["Shared Read Blocks"] as? Int ?? 0)
    }
}
