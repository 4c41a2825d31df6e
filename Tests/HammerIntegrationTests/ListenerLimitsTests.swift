import Foundation
import Hammer
import HummingbirdTesting
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresNIO
import Testing

/// The API listener against slow and idle clients: connections idle or with a half-sent request head are closed
/// after `HAMMER_HTTP_IDLE_TIMEOUT`, and past `HAMMER_HTTP_MAX_CONNECTIONS` new ones are closed at once, while the
/// API keeps answering.
@Suite struct ListenerLimitsTests {
    /// The real application listening on 127.0.0.1 (a port the kernel picks), with `environment`.
    private func live(
        _ environment: [String: String],
        _ body: @escaping @Sendable (any TestClientProtocol, Int) async throws -> Void
    ) async throws {
        try await TestDatabase.withDatabase { url in
            var env = ["HAMMER_DATABASE_URL": url.urlString, "HAMMER_GRPC_PORT": "0", "HAMMER_HTTP_PORT": "0"]
            env.merge(environment) { _, override in override }
            let config = try Config(environment: env)
            let client = PostgresClient(configuration: config.database.clientConfiguration(maxConnections: 4), backgroundLogger: TestDatabase.logger)
            let app = buildApplication(config: config, client: client, logger: TestDatabase.logger)
            try await app.test(.live) { testClient in
                try await body(testClient, try #require(testClient.port))
            }
        }
    }

    /// Opens `count` connections to `port`, writing `bytes` on each; each channel's close future says when the
    /// server closed it.
    private func connect(_ count: Int, port: Int, bytes: String) async throws -> [any Channel] {
        var channels: [any Channel] = []
        for _ in 0..<count {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
                .connect(host: "127.0.0.1", port: port).get()
            if !bytes.isEmpty { try await channel.writeAndFlush(ByteBuffer(string: bytes)) }
            channels.append(channel)
        }
        return channels
    }

    @Test func idleAndHalfSentConnectionsAreClosedAfterTheIdleTimeout() async throws {
        try await live(["HAMMER_HTTP_IDLE_TIMEOUT": "2s"]) { _, port in
            let idle = try await connect(150, port: port, bytes: "")
            let halfSent = try await connect(150, port: port, bytes: "POST /v1/topics HTTP/1.1\r\nHost: hammer\r\nContent-Le")
            // The API answers meanwhile (each check on a connection of its own: the idle timeout closes kept-alive ones).
            #expect(try await Self.rawRequest(port: port, path: "/v1/topics").hasPrefix("HTTP/1.1 200"))
            // Every one closed by the server (the test never closes them), within the timeout and a margin.
            try await eventually(timeout: .seconds(15), "the server to close all 300") { !(idle + halfSent).contains(where: \.isActive) }
            #expect(try await Self.rawRequest(port: port, path: "/liveness").hasPrefix("HTTP/1.1 204"))
        }
    }

    @Test func connectionsPastTheCapAreClosedAtOnce() async throws {
        try await live(["HAMMER_HTTP_MAX_CONNECTIONS": "20", "HAMMER_HTTP_IDLE_TIMEOUT": "60s"]) { client, port in
            // The test client's own keep-alive connection takes one place, the raw ones the other 19.
            #expect(try await client.send(.get, "/liveness").status == .noContent)
            let held = try await connect(19, port: port, bytes: "")
            let extra = try await connect(5, port: port, bytes: "")
            try await eventually("the server to close the 5 past the cap") { !extra.contains(where: \.isActive) }
            #expect(held.allSatisfy { $0.isActive })
            #expect(try await client.send(.get, "/liveness").status == .noContent)
            for channel in held { try? await channel.close() }
            // Places free again: a new connection is served.
            try await eventually("a new connection to be served") {
                try await Self.rawRequest(port: port, path: "/liveness").hasPrefix("HTTP/1.1 204")
            }
        }
    }

    /// `GET path` on a connection of its own; what the server sent before it closed the connection.
    private static func rawRequest(port: Int, path: String) async throws -> String {
        let collected = Collected()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collected) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: hammer\r\nConnection: close\r\n\r\n"))
        try? await channel.closeFuture.get()
        return collected.text
    }

    private final class Collected: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        private let received = NIOLockedValueBox("")
        var text: String { received.withLockedValue { $0 } }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.withLockedValue { $0 += String(buffer: buffer) }
        }
    }
}
