import Foundation
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
            try await store.client.withConnection { locker in
                try await locker.query("BEGIN", logger: logger)
                try await locker.query("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE", logger: logger)
                async let answer = client.publish(topic: "orders")
                var blocked: [Int32] = []
                try await eventually("the publish to wait for the lock") {
                    blocked = try await store.client.query(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", logger: logger
                    ).collect().map { try $0.decode(Int32.self) }
                    return !blocked.isEmpty
                }
                for pid in blocked { try await store.client.query("SELECT pg_terminate_backend(\(pid))", logger: logger) }
                let response = try await answer
                try await locker.query("ROLLBACK", logger: logger)
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
                logger: logger)
            try await store.client.query(
                """
                CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON messages DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()
                """, logger: logger)
            let response = try await client.publish(topic: "orders")
            #expect(response.status == .internalServerError)
            #expect(try await client.send(.get, "/v1/messages").list("messages").isEmpty)
            #expect(try await client.send(.get, "/v1/deliveries").list("deliveries").isEmpty)
        }
    }
}
