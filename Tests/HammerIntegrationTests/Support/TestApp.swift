import Foundation
import HTTPTypes
import Hammer
import HummingbirdTesting
import NIOCore
import PostgresNIO

/// The real application on a fresh migrated database, driven through HummingbirdTesting.
enum TestApp {
    /// Runs `body` against the app; `environment` adds or overrides HAMMER_* settings.
    static func run(
        environment: [String: String] = [:],
        _ body: @escaping @Sendable (any TestClientProtocol, Store) async throws -> Void
    ) async throws {
        try await run(environment: environment) { client, store, _ in try await body(client, store) }
    }

    /// As `run`, also giving the database's URL (to start a `TestWorker` on it). With `onGRPCListening`, the gRPC
    /// server runs too, on a port the kernel picks, which it is told.
    static func run(
        environment: [String: String] = [:],
        onGRPCListening: (@Sendable (Int) -> Void)? = nil,
        _ body: @escaping @Sendable (any TestClientProtocol, Store, DatabaseURL) async throws -> Void
    ) async throws {
        try await TestDatabase.withDatabase { url in
            // Tests send to receivers on 127.0.0.1; SSRF tests turn the guard back on.
            var env = ["HAMMER_DATABASE_URL": url.urlString, "HAMMER_ALLOW_PRIVATE_TARGETS": "true", "HAMMER_GRPC_PORT": "0"]
            env.merge(environment) { _, override in override }
            var config = try Config(environment: env)
            if onGRPCListening != nil { config.grpcPort = 0 }
            let client = PostgresClient(configuration: config.database.clientConfiguration(maxConnections: 4), backgroundLogger: TestDatabase.logger)
            let app = buildApplication(config: config, client: client, logger: TestDatabase.logger, onGRPCListening: onGRPCListening)
            let store = Store(client: client, logger: TestDatabase.logger)
            try await app.test(.router) { testClient in
                try await body(testClient, store, url)
            }
        }
    }
}

/// A response with its body parsed as JSON.
struct TestResponse: @unchecked Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String
    let json: Any?

    var object: [String: Any] { json as? [String: Any] ?? [:] }
    subscript(key: String) -> Any? { object[key] }
    func list(_ key: String) -> [[String: Any]] { object[key] as? [[String: Any]] ?? [] }
    var errorCode: String? { object["error"] as? String }
    var detailFields: [String] { (object["details"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String } }
}

extension TestClientProtocol {
    /// Sends `body` (a JSON text or any JSON-serialisable value) and parses the answer.
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, _ body: Any? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        var buffer: ByteBuffer?
        if let text = body as? String {
            buffer = ByteBuffer(string: text)
        } else if let body {
            buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body))
        }
        var headers = headers
        if buffer != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        let response = try await execute(uri: uri, method: method, headers: headers, body: buffer)
        let text = String(buffer: response.body)
        let json = text.isEmpty ? nil : try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        return TestResponse(status: response.status, headers: response.headers, text: text, json: json)
    }

    @discardableResult
    func createTopic(_ id: String, name: String? = nil) async throws -> TestResponse {
        try await send(.post, "/v1/topics", ["topic": ["id": id, "name": name ?? "Topic \(id)"]])
    }

    @discardableResult
    func createSubscription(
        _ id: String,
        topic: String,
        url: String = "http://127.0.0.1:1/hook",
        extra: [String: Any] = [:]
    ) async throws -> TestResponse {
        var body: [String: Any] = [
            "id": id, "topic_id": topic, "name": "Subscription \(id)", "url": url,
            "max_delivery_attempts": 5, "delivery_attempt_delay": 60, "delivery_attempt_timeout": 5,
        ]
        body.merge(extra) { _, new in new }
        return try await send(.post, "/v1/subscriptions", ["subscription": body])
    }

    @discardableResult
    func publish(topic: String, data: String = #"{"hello":"world"}"#, contentType: String = "application/json") async throws -> TestResponse {
        try await send(.post, "/v1/messages", ["message": ["topic_id": topic, "content_type": contentType, "data": data]])
    }
}
