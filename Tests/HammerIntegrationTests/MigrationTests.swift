import Foundation
import Hammer
import PostgresNIO
import Testing

@Suite struct MigrationTests {
    @Test func upIsIdempotentDownRevertsAndRecordsLikeGolangMigrate() async throws {
        try await TestDatabase.withEmptyDatabase { url in
            try await TestDatabase.withClient(url) { client in
                let migrator = Migrator(client: client, logger: TestDatabase.logger)
                let migrations = try Migrator.load(directory: TestDatabase.migrationsPath)
                #expect(try await migrator.state() == .init(version: nil, dirty: false))
                await #expect(throws: Migrator.MigrationError.self) { try await migrator.requireCurrentSchema() }

                let applied = try await migrator.up(migrations)
                #expect(applied == migrations.map(\.version))
                #expect(try await migrator.up(migrations).isEmpty)
                #expect(try await migrator.state() == .init(version: migrations.last!.version, dirty: false))
                try await migrator.requireCurrentSchema()
                let rows = try await client.query("SELECT version, dirty FROM schema_migrations").collect()
                #expect(rows.count == 1)

                let reverted = try await migrator.down(migrations, steps: migrations.count)
                #expect(reverted == migrations.map(\.version).reversed())
                #expect(try await migrator.state() == .init(version: nil, dirty: false))
                let tables = try await client.query(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_migrations'"
                ).collect().first!.decode(Int.self)
                #expect(tables == 0)

                try await migrator.up(migrations)
                #expect(try await migrator.state().version == Migrator.requiredVersion)
            }
        }
    }

    @Test func dirtySchemaIsRefused() async throws {
        try await TestDatabase.withDatabase { url in
            try await TestDatabase.withClient(url) { client in
                try await client.query("UPDATE schema_migrations SET dirty = true")
                let migrator = Migrator(client: client, logger: TestDatabase.logger)
                await #expect(throws: Migrator.MigrationError.self) { try await migrator.requireCurrentSchema() }
                await #expect(throws: Migrator.MigrationError.self) {
                    try await migrator.up(try Migrator.load(directory: TestDatabase.migrationsPath))
                }
            }
        }
    }

    @Test func aSchemaFromTheFutureThatOlderBinariesCannotRunWithIsRefusedNamingBothVersions() async throws {
        try await TestDatabase.withDatabase { url in
            try await TestDatabase.withClient(url) { client in
                let migrator = Migrator(client: client, logger: TestDatabase.logger)
                // A newer schema that this binary may still run with.
                try await client.query("UPDATE schema_migrations SET version = 99")
                try await migrator.requireCurrentSchema()
                // One whose migration marked binaries built before it as unable to run.
                try await client.query("UPDATE schema_compatibility SET oldest_binary_schema = 99")
                let refusal = await #expect(throws: Migrator.MigrationError.self) { try await migrator.requireCurrentSchema() }
                let text = refusal?.description ?? ""
                #expect(text.contains("version 99") && text.contains("schema 99 or newer"), "\(text)")
                #expect(text.contains("built for schema \(Migrator.requiredVersion)"), "\(text)")
                // The worker refuses to start with it.
                let worker = try TestWorker.start(url)
                await #expect(throws: Migrator.MigrationError.self) { try await worker.task.value }
            }
        }
    }

    @Test func aRunningWorkerStopsWithTheRefusalWhenTheSchemaNoLongerLetsItRun() async throws {
        try await Fixture.withReceiver { url, fixture, receiver in
            let worker = try TestWorker.start(url, schemaCheckInterval: .milliseconds(200))
            // Running: it delivers.
            try await fixture.topic("orders")
            try await fixture.subscription("hook", topic: "orders", url: receiver.url)
            try await fixture.publish(topic: "orders")
            try await eventually("the worker to deliver") { await receiver.log.count == 1 }
            // A migration applied meanwhile that binaries built for this schema cannot live with.
            try await fixture.client.query("UPDATE schema_migrations SET version = 99")
            try await fixture.client.query("UPDATE schema_compatibility SET oldest_binary_schema = 99")
            let refusal = await #expect(throws: Migrator.MigrationError.self) { try await worker.task.value }
            #expect(refusal?.description.contains("schema 99 or newer") == true, "\(String(describing: refusal))")
        }
    }

    @Test func requiredVersionIsTheNewestMigration() throws {
        let migrations = try Migrator.load(directory: TestDatabase.migrationsPath)
        #expect(migrations.last?.version == Migrator.requiredVersion)
        #expect(migrations.allSatisfy { $0.down != nil })
    }

    @Test func indexNamesAreUniqueAndQueriesUseThem() async throws {
        try await TestDatabase.withDatabase { url in
            try await TestDatabase.withClient(url) { client in
                let names = try await client.query("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'").collect()
                    .map { try $0.decode(String.self) }
                #expect(Set(names).count == names.count)
                #expect(names.contains("delivery_attempts_delivery_id_created_at_id_idx"))
                // The claim's per-subscription probe is an index range scan on the partial pending index.
                let plan = try await client.withConnection { connection in
                    try await connection.query("SET enable_seqscan = off", logger: TestDatabase.logger)
                    return try await connection.query(
                        """
                        EXPLAIN SELECT scheduled_at FROM delivery_queue
                        WHERE subscription_id = 'billing' AND status = 'pending' AND scheduled_at <= now() ORDER BY scheduled_at LIMIT 1
                        """,
                        logger: TestDatabase.logger
                    ).collect().map { try $0.decode(String.self) }.joined(separator: "\n")
                }
                #expect(
                    plan.contains("Scan using delivery_queue_pending_subscription_id_scheduled_at_idx")
                        && plan.contains("Index Cond: ((subscription_id = "),
                    "\(plan)"
                )
            }
        }
    }

    @Test func serverRefusesAnUnmigratedSchema() async throws {
        try await TestDatabase.withEmptyDatabase { url in
            let config = try Config(environment: ["HAMMER_DATABASE_URL": url.urlString, "HAMMER_HTTP_PORT": "0"])
            let client = PostgresClient(configuration: config.database.clientConfiguration(maxConnections: 2), backgroundLogger: TestDatabase.logger)
            let app = buildApplication(config: config, client: client, logger: TestDatabase.logger)
            await #expect(throws: Migrator.MigrationError.self) { try await app.runService() }
        }
    }
}
