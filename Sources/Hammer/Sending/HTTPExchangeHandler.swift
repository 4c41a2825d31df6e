import NIOCore
import NIOHTTP1

/// A response read off a connection: its head and body (up to a cap), and whether the connection may be reused.
struct WebhookResponse: Sendable {
    var head: HTTPResponseHead
    var body: ByteBuffer
    /// The body was longer than the cap; the rest was not read and the connection was closed.
    var truncated: Bool
}

/// The attempt's deadline passed before the response was complete; the connection was closed.
struct ExchangeDeadlineExceeded: Error {}

/// The connection closed before a complete response arrived; `receivedAny` when part of one had.
struct ConnectionClosedEarly: Error {
    var receivedAny: Bool
}

/// Reads one response at a time on an HTTP/1.1 client connection, keeping at most `maxBodyBytes` of its body.
/// Lives on its channel's event loop; `start` is called there before the request is written.
final class HTTPExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private var promise: EventLoopPromise<WebhookResponse>?
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var maxBodyBytes = 0
    private var receivedAny = false
    /// Why the connection ended, when it ended between requests (a TLS handshake refused before the first one).
    private var ended: (any Error)?

    /// Expects the response to a request about to be written.
    func start(_ promise: EventLoopPromise<WebhookResponse>, maxBodyBytes: Int) {
        if let ended { return promise.fail(ended) }
        self.promise = promise
        self.maxBodyBytes = maxBodyBytes
        head = nil
        body.clear()
        receivedAny = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receivedAny = true
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            // An interim 1xx answer (other than a protocol switch) is followed by the real one.
            if (100..<200).contains(responseHead.status.code), responseHead.status.code != 101 { return }
            head = responseHead
        case .body(var chunk):
            guard head != nil else { return }
            let room = maxBodyBytes - body.readableBytes
            if chunk.readableBytes > room {
                if room > 0, let slice = chunk.readSlice(length: room) { body.writeImmutableBuffer(slice) }
                finish(truncated: true)
                context.close(promise: nil)
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            guard head != nil else { return }
            finish(truncated: false)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = ConnectionClosedEarly(receivedAny: receivedAny)
        if ended == nil { ended = error }
        fail(error)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if ended == nil { ended = error }
        fail(error)
        context.close(promise: nil)
    }

    private func finish(truncated: Bool) {
        guard let promise, let head else { return }
        self.promise = nil
        promise.succeed(WebhookResponse(head: head, body: body, truncated: truncated))
    }

    /// Ends the exchange with `error` (the request could not be written, or its deadline passed): the connection
    /// is unusable.
    func fail(_ error: any Error) {
        guard let promise else { return }
        self.promise = nil
        promise.fail(error)
    }
}
