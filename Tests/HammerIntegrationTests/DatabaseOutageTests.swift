import Foundation
import Hammer
import PostgresNIO
import Testing

@Suite struct DatabaseOutageTests {
    /// A query cut off by the server (an administrator's terminate, or a shutdown: SQLSTATE 57P01) is an outage,
    /// not a bug: the client gets the JSON 503 and may retry; nothing is stored; the next request works.
    @Test func requestWhoseConnectionTheServerTerminatesGets503() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("billing", topic: "orders")
            let logger = TestDatabase.logger
            try await whileMessagesAreLocked(store.client) {
                async let answer = client.publish(topic: "orders")
                var blocked: [Int32] = []
                try await eventually("the publish to wait for the lock") {
                    blocked = try await store.client.query(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                        logger: logger
                    ).collect().map { try $0.decode(Int32.self) }
                    return !blocked.isEmpty
                }
                for pid in blocked { try await store.client.query("SELECT pg_terminate_backend(\(pid))", logger: logger) }
                let response = try await answer
                #expect(response.status == .serviceUnavailable)
                #expect(response.object["error"] as? String == "unavailable")
                #expect(response.object["code"] as? Int == 14)
            }
            #expect(try await client.send(.get, "/v1/messages").list("messages").isEmpty)
            #expect(try await client.publish(topic: "orders").status == .ok)
        }
    }

    /// A publish is acknowledged only once its transaction has committed. A constraint trigger deferred to commit
    /// makes the commit itself fail after the statement has returned its rows: the client must not get a 200.
    @Test func publishIsAcknowledgedOnlyAfterItsCommit() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("billing", topic: "orders")
            let logger = TestDatabase.logger
            try await store.client.query(
                "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$",
                logger: logger
            )
            try await store.client.query(
                """
                CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON messages DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()
                """,
                logger: logger
            )
            let response = try await client.publish(topic: "orders")
            #expect(response.status == .internalServerError)
            #expect(try await client.send(.get, "/v1/messages").list("messages").isEmpty)
            #expect(try await client.send(.get, "/v1/deliveries").list("deliveries").isEmpty)
        }
    }

    /// A statement that overruns is cancelled by PostgreSQL (`statement_timeout`) before the client is answered 503,
    /// so nothing of it is left running to commit later: a client that retries after a 503 creates no duplicate.
    @Test func aStatementThatOverrunsIsCancelledSoA503LeavesNothingBehind() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("billing", topic: "orders")
            let logger = TestDatabase.logger
            try await whileMessagesAreLocked(store.client) {
                let started = ContinuousClock.now
                let response = try await client.publish(topic: "orders")
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
                #expect(ContinuousClock.now - started < .seconds(11))
                let running = try await store.client.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CALL hammer_publish%' AND state <> 'idle'",
                    logger: logger
                ).collect().first!.decode(Int.self)
                #expect(running == 0)
            }
            #expect(try await client.send(.get, "/v1/messages").list("messages").isEmpty)
            #expect(try await client.publish(topic: "orders").status == .ok)
        }
    }

    /// Publishes wait for a batch in a bounded queue: past its bound the next is answered 503 at once, and the
    /// queued ones are written when the database is back.
    @Test func aFullPublishQueueAnswers503AtOnce() async throws {
        try await TestDatabase.withDatabase { url in
            try await TestDatabase.withClient(url) { client in
                let fixture = Fixture(client: client)
                try await fixture.topic("orders")
                let publisher = PublishBatcher(store: fixture.store, metrics: HammerMetrics(), maxQueued: 3)
                let running = Task { try await publisher.run() }
                defer { running.cancel() }
                let outcomes = Outcomes()
                let tasks = try await whileMessagesAreLocked(client) {
                    let request = PublishRequest(topicID: "orders", contentType: "text/plain", dataBase64: "aGk=")
                    func publish() -> Task<Void, Never> {
                        Task {
                            do {
                                _ = try await publisher.publish(request)
                                await outcomes.add("ok")
                            } catch let error as HammerError {
                                await outcomes.add(error.error)
                            } catch {
                                await outcomes.add("\(error)")
                            }
                        }
                    }
                    // One at a time until both batches (the most written at once) wait for the lock.
                    var tasks = [publish()]
                    try await eventually("a batch waiting for the lock") { try await waitingForLock(fixture) == 1 }
                    tasks.append(publish())
                    try await eventually("two batches waiting for the lock") { try await waitingForLock(fixture) == 2 }
                    // Three fit in the queue; the fourth is refused while the database is still blocked.
                    for _ in 0..<4 { tasks.append(publish()) }
                    try await eventually("one publish refused") { await outcomes.all == ["unavailable"] }
                    return tasks
                }
                for task in tasks { await task.value }
                #expect(await outcomes.all.sorted() == ["ok", "ok", "ok", "ok", "ok", "unavailable"])
                #expect(try await fixture.client.rowCount(.messages) == 5)
            }
        }
    }

    private func waitingForLock(_ fixture: Fixture) async throws -> Int {
        try await fixture.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    }

    private actor Outcomes {
        var all: [String] = []
        func add(_ outcome: String) { all.append(outcome) }
    }

    /// Runs `body` while another connection holds an exclusive lock on `messages` (publishes wait), then releases it.
    @discardableResult
    private func whileMessagesAreLocked<T: Sendable>(_ client: PostgresClient, _ body: () async throws -> T) async throws -> T {
        try await client.withConnection { locker in
            try await locker.query("BEGIN", logger: TestDatabase.logger)
            try await locker.query("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE", logger: TestDatabase.logger)
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            try await locker.query("ROLLBACK", logger: TestDatabase.logger)
            return try result.get()
        }
    }
}
