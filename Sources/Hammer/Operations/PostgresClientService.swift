import PostgresNIO
import ServiceLifecycle

/// Runs a `PostgresClient` inside a `ServiceGroup` and stops it on graceful shutdown.
public struct PostgresClientService: Service {
    public let client: PostgresClient

    public init(client: PostgresClient) { self.client = client }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await client.run()
        }
    }
}
