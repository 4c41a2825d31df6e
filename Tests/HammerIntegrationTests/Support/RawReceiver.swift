import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP server on 127.0.0.1 that answers every request with fixed bytes and then keeps the connection open
/// without another byte: `HTTP/1.1 200 OK` with `Content-Length: 10` and no body is a stalled body.
final class RawReceiver: Sendable {
    let port: Int
    private let channel: any Channel
    private let requests = NIOLockedValueBox(0)

    var url: String { "http://127.0.0.1:\(port)/hook" }
    /// Requests whose head arrived (each on its own connection, since none is ever answered in full).
    var requestCount: Int { requests.withLockedValue { $0 } }

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func start(answer: String) async throws -> RawReceiver {
        let box = NIOLockedValueBox<RawReceiver?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Connection(answer: answer) { box.withLockedValue { $0 }?.counted() })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let receiver = RawReceiver(port: channel.localAddress?.port ?? 0, channel: channel)
        box.withLockedValue { $0 = receiver }
        return receiver
    }

    func stop() async { try? await channel.close() }

    private func counted() { requests.withLockedValue { $0 += 1 } }

    private final class Connection: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answer: String
        let onRequest: @Sendable () -> Void
        private let headSeen = NIOLockedValueBox(false)

        init(answer: String, onRequest: @escaping @Sendable () -> Void) {
            self.answer = answer
            self.onRequest = onRequest
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let first = headSeen.withLockedValue { seen in
                defer { seen = true }
                return !seen
            }
            guard first else { return }
            onRequest()
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer)), promise: nil)
        }
    }
}
