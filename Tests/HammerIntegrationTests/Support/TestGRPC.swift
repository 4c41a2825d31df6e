import GRPCCore
import GRPCNIOTransportHTTP2
import HummingbirdTesting
import Synchronization
import Testing

@testable import Hammer

/// A client generated from `proto/hammer/v1/hammer.proto`, on HTTP/2 as any gRPC client connects.
typealias HammerClient = Hammer_V1_Hammer.Client<HTTP2ClientTransport.Posix>

/// The real application with its gRPC server on a port of 127.0.0.1 the kernel picks, a generated client connected to it, and
/// the REST client beside it.
enum TestGRPC {
    static func run(
        environment: [String: String] = [:],
        _ body: @escaping @Sendable (HammerClient, any TestClientProtocol, Store, DatabaseURL) async throws -> Void
    ) async throws {
        try await withClient(environment: environment) { client, rest, store, url in
            try await body(Hammer_V1_Hammer.Client(wrapping: client), rest, store, url)
        }
    }

    /// As `run`, with the connection itself, for the other services (health).
    static func withClient(
        environment: [String: String] = [:],
        _ body: @escaping @Sendable (GRPCClient<HTTP2ClientTransport.Posix>, any TestClientProtocol, Store, DatabaseURL) async throws -> Void
    ) async throws {
        // The server binds a port of the kernel's choice and says which: a port picked here and released before the
        // server binds it could be taken meanwhile by another test's socket.
        let listening = Mutex<Int?>(nil)
        let onListening: @Sendable (Int) -> Void = { port in listening.withLock { $0 = port } }
        try await TestApp.run(environment: environment, onGRPCListening: onListening) { rest, store, url in
            try await eventually("the gRPC server to listen") { listening.withLock { $0 } != nil }
            let port = try #require(listening.withLock { $0 })
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            try await withGRPCClient(transport: transport) { client in
                let health = Grpc_Health_V1_Health.Client(wrapping: client)
                var options = CallOptions.defaults
                options.timeout = .seconds(1)
                let probe = options
                try await eventually("the gRPC server to answer") {
                    (try? await health.check(.init(), options: probe).status) == .serving
                }
                try await body(client, rest, store, url)
            }
        }
    }
}

extension RPCError {
    /// The `hammer-error` metadata: the `error` of the REST body for the same failure.
    var hammerError: String? { metadata.firstString("hammer-error") }
    /// The fields of the `hammer-field-violation` metadata, in order.
    var violatedFields: [String] {
        metadata[stringValues: "hammer-field-violation"].map { String($0.prefix(while: { $0 != ":" })) }
    }
}

/// The RPC error `body` throws; fails the test when it throws none or another error.
func rpcError(_ body: () async throws -> Void) async throws -> RPCError {
    do {
        try await body()
    } catch let error as RPCError {
        return error
    }
    throw CallSucceeded()
}

struct CallSucceeded: Error, CustomStringConvertible {
    var description: String { "the call succeeded; an RPC error was expected" }
}
