import ArgumentParser
import Hammer

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply database migrations (idempotent: exits 0 when none are pending).",
        subcommands: [Up.self, Down.self, Status.self],
        defaultSubcommand: Up.self
    )

    struct Options: ParsableArguments {
        @Option(
            help:
                "Directory of NNNNNN_name.up.sql/.down.sql files to apply instead of the migrations built into hammer (default: HAMMER_MIGRATIONS_PATH if set)."
        )
        var path: String?
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply every pending migration (the default), then make the time partitions ahead (HAMMER_PARTITION_INTERVAL)."
        )
        @OptionGroup var options: Options

        func run() async throws {
            let runtime = try Runtime()
            let migrations = try Migrator.load(directory: options.path ?? runtime.config.migrationsPath)
            let applied = try await runtime.withClient { client in
                try await Migrator(client: client, logger: runtime.logger).up(migrations, partitioning: runtime.config.partitioning)
            }
            print(
                applied.isEmpty
                    ? "no pending migrations" : "applied \(applied.count) migration(s): \(applied.map(String.init).joined(separator: ", "))"
            )
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revert the newest applied migrations.")
        @OptionGroup var options: Options
        @Option(help: "How many migrations to revert.") var steps: Int = 1

        func validate() throws {
            guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        }

        func run() async throws {
            let runtime = try Runtime()
            let migrations = try Migrator.load(directory: options.path ?? runtime.config.migrationsPath)
            let reverted = try await runtime.withClient { [steps] client in
                try await Migrator(client: client, logger: runtime.logger).down(migrations, steps: steps)
            }
            print(
                reverted.isEmpty
                    ? "nothing to revert" : "reverted \(reverted.count) migration(s): \(reverted.map(String.init).joined(separator: ", "))"
            )
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the schema version recorded in schema_migrations.")

        func run() async throws {
            let runtime = try Runtime()
            let state = try await runtime.withClient { client in
                try await Migrator(client: client, logger: runtime.logger).state()
            }
            let version = state.version.map(String.init) ?? "none"
            print("version \(version)\(state.dirty ? " (dirty)" : ""); this build needs \(Migrator.requiredVersion)")
        }
    }
}
