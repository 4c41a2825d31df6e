import Foundation
import Hammer
import PostgresNIO
import ServiceLifecycle

/// A `DeliveryWorker` with its own connection pool, as a separate `hammer worker` process would have.
struct TestWorker {
    let group: ServiceGroup
    let task: Task<Void, any Error>

    static func start(
        _ url: DatabaseURL,
        environment: [String: String] = [:],
        leaseMargin: Duration = .seconds(30),
        schemaCheckInterval: Duration = DeliveryWorker.defaultSchemaCheckInterval
    ) throws -> TestWorker {
        var env = ["HAMMER_DATABASE_URL": url.urlString, "HAMMER_WORKER_POLL_INTERVAL": "100ms", "HAMMER_ALLOW_PRIVATE_TARGETS": "true"]
        env.merge(environment) { _, override in override }
        let config = try Config(environment: env)
        let client = PostgresClient(configuration: url.clientConfiguration(maxConnections: 4), backgroundLogger: TestDatabase.logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: client)]
                    + buildWorker(
                        config: config,
                        client: client,
                        logger: TestDatabase.logger,
                        healthServer: false,
                        leaseMargin: leaseMargin,
                        schemaCheckInterval: schemaCheckInterval
                    ),
                logger: TestDatabase.logger
            )
        )
        return TestWorker(group: group, task: Task { try await group.run() })
    }

    /// SIGTERM's path: graceful shutdown, then wait for the worker to finish.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}

/// Test data set up straight in the database, and queries for assertions.
struct Fixture {
    let client: PostgresClient

    var store: Store { Store(client: client, logger: TestDatabase.logger) }
    var queue: DeliveryQueue { DeliveryQueue(client: client, logger: TestDatabase.logger) }

    /// A fresh migrated database, a fixture on it, and a receiver on 127.0.0.1 answering with `replies`.
    static func withReceiver(
        replies: WebhookReceiver.Replies = .always(.init()),
        _ body: @escaping @Sendable (DatabaseURL, Fixture, WebhookReceiver) async throws -> Void
    ) async throws {
        let receiver = try await WebhookReceiver.start(reply: replies.reply)
        defer { receiver.stop() }
        try await TestDatabase.withDatabase { url in
            try await TestDatabase.withClient(url) { client in
                try await body(url, Fixture(client: client), receiver)
            }
        }
    }

    /// A fresh migrated database with topic `orders` and, for each id in `subscriptions`, a subscription to it.
    static func withOrders(subscriptions: [String], _ body: (Fixture) async throws -> Void) async throws {
        try await TestDatabase.withDatabase { url in
            try await TestDatabase.withClient(url) { client in
                let fixture = Fixture(client: client)
                try await fixture.topic("orders")
                for id in subscriptions { try await fixture.subscription(id, topic: "orders", url: "http://127.0.0.1:1/") }
                try await body(fixture)
            }
        }
    }

    func topic(_ id: String) async throws {
        try await client.query("INSERT INTO topics (id, name) VALUES (\(id), \(id))")
    }

    func subscription(
        _ id: String,
        topic: String,
        url: String,
        secret: String = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        maxAttempts: Int = 5,
        delay: Int = 1,
        timeout: Int = 5
    ) async throws {
        try await client.query(
            """
            INSERT INTO subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
            VALUES (\(id), \(topic), \(id), \(url), \(secret), \(maxAttempts), \(delay), \(timeout))
            """
        )
    }

    @discardableResult
    func publish(topic: String, data: String = #"{"hello":"world"}"#) async throws -> String {
        try await store.publish(.init(topicID: topic, contentType: "application/json", dataBase64: Data(data.utf8).base64EncodedString())).id
    }

    func count(_ sql: String) async throws -> Int {
        try await client.count(sql)
    }

    func statuses() async throws -> [String: Int] {
        try await client.deliveryStatuses()
    }
}
