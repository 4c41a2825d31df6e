import Foundation
import Hammer
import PostgresNIO
import Testing

/// The operator commands run as processes, as their `--help` describes them, on a real database.
@Suite struct OperatorCommandTests {
    /// A migrated database with topic `orders` and subscriptions `a` and `b` pointing at `url`.
    func scenario(url: String = "http://127.0.0.1:1/", _ body: (DatabaseURL, Fixture) async throws -> Void) async throws {
        try await TestDatabase.withDatabase { database in
            try await TestDatabase.withClient(database) { client in
                let fixture = Fixture(client: client)
                try await fixture.topic("orders")
                for id in ["a", "b"] { try await fixture.subscription(id, topic: "orders", url: url) }
                try await body(database, fixture)
            }
        }
    }

    /// An installed binary migrates wherever it runs: the migrations are built in (HammerProcess runs in an empty
    /// directory); `--path` still applies a directory instead.
    @Test func migrateAppliesTheBuiltInMigrationsFromAnyDirectory() async throws {
        try await TestDatabase.withEmptyDatabase { database in
            let up = try await HammerProcess.run(["migrate"], database: database)
            #expect(up.status == 0, "\(up.output)")
            #expect(up.output.contains("applied \(Migrator.requiredVersion) migration(s)"), "\(up.output)")
            let status = try await HammerProcess.run(["migrate", "status"], database: database)
            #expect(status.output.contains("version \(Migrator.requiredVersion);"), "\(status.output)")
            let down = try await HammerProcess.run(["migrate", "down", "--path", TestDatabase.migrationsPath], database: database)
            #expect(down.status == 0, "\(down.output)")
            #expect(down.output.contains("reverted 1 migration(s): \(Migrator.requiredVersion)"), "\(down.output)")
            let missing = try await HammerProcess.run(["migrate", "--path", "no-such-directory"], database: database)
            #expect(missing.status != 0)
            #expect(missing.output.contains("cannot read migrations directory \"no-such-directory\""), "\(missing.output)")
        }
    }

    @Test func redeliverPrintsTheCountFirstAndDryRunChangesNothing() async throws {
        try await scenario { database, fixture in
            for _ in 0..<3 { try await fixture.publish(topic: "orders") }
            try await fixture.client.markDeliveries(attempts: 5)

            let dryRun = try await HammerProcess.run(["redeliver", "--subscription", "a", "--since", "1h", "--dry-run"], database: database)
            #expect(dryRun.status == 0, "\(dryRun.output)")
            #expect(dryRun.output.contains("3 failed delivery(ies) of subscription a changed since"), "\(dryRun.output)")
            #expect(dryRun.output.contains("would be redelivered (dry run)"))
            #expect(try await fixture.statuses() == ["failed": 6])

            let run = try await HammerProcess.run(["redeliver", "--subscription", "a", "--batch-size", "2"], database: database)
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains("3 failed delivery(ies) of subscription a changed before"), "\(run.output)")
            #expect(run.output.contains("redelivered 2/3"))
            #expect(run.output.contains("done: 3 delivery(ies) pending again"))
            #expect(
                try await fixture.client.freshPendingDeliveries(subscription: "a") == 3
            )
            #expect(try await fixture.statuses() == ["pending": 3, "failed": 3])

            let oneOfB = try await fixture.client.query("SELECT min(id) FROM deliveries WHERE subscription_id = 'b'").collect().first!.decode(
                String.self
            )
            let byID = try await HammerProcess.run(["redeliver", oneOfB], database: database)
            #expect(byID.status == 0, "\(byID.output)")
            #expect(byID.output.contains("1 failed or completed delivery(ies) of the 1 id(s) given"), "\(byID.output)")
            #expect(try await fixture.statuses() == ["pending": 4, "failed": 2])
        }
    }

    @Test func redeliverRefusesBadOptions() async throws {
        try await scenario { database, fixture in
            try await fixture.publish(topic: "orders")
            let pending = try await HammerProcess.run(["redeliver", "--status", "pending"], database: database)
            #expect(pending.status == 64)
            #expect(pending.output.contains("--status must be failed, completed or any"), "\(pending.output)")
            let since = try await HammerProcess.run(["redeliver", "--since", "yesterday"], database: database)
            #expect(since.status == 64)
            #expect(try await fixture.statuses() == ["pending": 2])
        }
    }

    @Test func subscriptionsTestExitsZeroOnSuccessAndOneWithTheReasonOnFailure() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await scenario(url: receiver.url) { database, fixture in
            let ok = try await HammerProcess.run(
                ["subscriptions", "test", "a"],
                database: database,
                environment: ["HAMMER_ALLOW_PRIVATE_TARGETS": "true"]
            )
            #expect(ok.status == 0, "\(ok.output)")
            #expect(ok.output.contains("to \(receiver.url): status 200 in"), "\(ok.output)")
            #expect(await receiver.log.count == 1)
            #expect(await receiver.log.requests.first?.json["type"] as? String == "hammer.subscription.test")

            // The production default refuses loopback targets at send time too.
            let blocked = try await HammerProcess.run(
                ["subscriptions", "test", "a"],
                database: database,
                environment: ["HAMMER_ALLOW_PRIVATE_TARGETS": "false"]
            )
            #expect(blocked.status == 1, "\(blocked.output)")
            #expect(blocked.output.contains("FAILED (blocked_target)"), "\(blocked.output)")
            #expect(await receiver.log.count == 1)

            let missing = try await HammerProcess.run(["subscriptions", "test", "nope"], database: database)
            #expect(missing.status == 1)
            #expect(missing.output.contains(#"subscription "nope" does not exist"#), "\(missing.output)")
            #expect(try await fixture.client.rowCount(.deliveries) == 0)
        }
    }

    @Test func subscriptionsDisableAndEnableChangeTheStatusAsTheAPIDoes() async throws {
        try await scenario { database, fixture in
            let disabled = try await HammerProcess.run(["subscriptions", "disable", "a"], database: database)
            #expect(disabled.status == 0, "\(disabled.output)")
            #expect(disabled.output.contains("subscription a is disabled (\(Subscription.disabledByHand))"), "\(disabled.output)")
            #expect(try await fixture.store.subscription(id: "a").status == .disabled)
            #expect(try await fixture.store.subscription(id: "b").status == .active)

            let enabled = try await HammerProcess.run(["subscriptions", "enable", "a"], database: database)
            #expect(enabled.status == 0, "\(enabled.output)")
            #expect(enabled.output.contains("subscription a is active"), "\(enabled.output)")
            #expect(try await fixture.store.subscription(id: "a").status == .active)

            let missing = try await HammerProcess.run(["subscriptions", "disable", "nope"], database: database)
            #expect(missing.status == 1)
            #expect(missing.output.contains(#"subscription "nope" does not exist"#), "\(missing.output)")
        }
    }

    @Test func monitorExitsOneAndSaysWhyAboveTheMaximum() async throws {
        try await scenario { database, fixture in
            for _ in 0..<2 { try await fixture.publish(topic: "orders") }
            try await fixture.client.markDeliveries(changedSecondsAgo: 0)
            let alert = try await HammerProcess.run(["monitor", "--status", "failed", "--since", "10m", "--max", "3"], database: database)
            #expect(alert.status == 1)
            #expect(alert.output.contains("ALERT: 4 deliveries failed since"), "\(alert.output)")
            let ok = try await HammerProcess.run(["monitor", "--status", "failed", "--since", "10m", "--max", "4"], database: database)
            #expect(ok.status == 0)
            #expect(ok.output.contains("OK: 4 deliveries failed since"), "\(ok.output)")
        }
    }

    @Test func cleanupDropsOldPartitionsKeepingPendingWorkAndDryRunDropsNothing() async throws {
        try await scenario { database, fixture in
            try await fixture.client.addPastPeriod(daysAgo: 40)
            let old = try await fixture.client.publishInThePast(daysAgo: 40, topic: "orders", count: 2)
            try await fixture.publish(topic: "orders")
            try await fixture.client.query("UPDATE deliveries SET status = 'completed' WHERE message_id = \(old[1])")
            try await fixture.client.matchQueueToStatuses()
            let dryRun = try await HammerProcess.run(["cleanup", "--older-than", "30d", "--dry-run"], database: database)
            #expect(dryRun.status == 0)
            #expect(dryRun.output.contains("1 period(s) of history end before"), "\(dryRun.output)")
            #expect(dryRun.output.contains("2 pending deliveries and 0 pending callbacks to keep"), "\(dryRun.output)")
            #expect(try await fixture.client.partitionsOfPastPeriod(daysAgo: 40) == 5)
            #expect(try await fixture.client.rowCount(.messages) == 3)

            let run = try await HammerProcess.run(["cleanup", "--older-than", "30d"], database: database)
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains("dropped 1 period(s)"), "\(run.output)")
            #expect(try await fixture.client.partitionsOfPastPeriod(daysAgo: 40) == 0)
            // The pending deliveries of the first old message and the message are kept; the finished ones went.
            #expect(try await fixture.client.rowCount(.messages) == 2)
            #expect(try await fixture.client.rowCount(.deliveries) == 4)

            // Without --older-than, HAMMER_RETENTION decides; 0 keeps everything.
            let kept = try await HammerProcess.run(["cleanup"], database: database)
            #expect(kept.status == 0)
            #expect(kept.output.contains("HAMMER_RETENTION is 0"), "\(kept.output)")
        }
    }
}
