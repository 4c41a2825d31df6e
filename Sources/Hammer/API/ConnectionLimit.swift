import HummingbirdCore
import NIOConcurrencyHelpers
import NIOCore

/// A cap on the connections one HTTP listener holds open: past it a new connection is closed as soon as it is
/// accepted, so slow or idle clients cannot take the file descriptors the process needs for PostgreSQL and webhooks.
final class ConnectionLimit: Sendable {
    let maxConnections: Int
    private let open = NIOLockedValueBox(0)

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    /// Takes a place for a new connection; false when the listener is full.
    func admit() -> Bool {
        open.withLockedValue { open in
            guard open < maxConnections else { return false }
            open += 1
            return true
        }
    }

    func release() {
        open.withLockedValue { $0 = max(0, $0 - 1) }
    }

    /// The handler each connection's pipeline gets.
    func handler() -> ConnectionLimitHandler { ConnectionLimitHandler(limit: self) }

    /// The HTTP/1 listener of hammer's servers: idle (and half-sent) connections closed after `idleTimeout`, and at
    /// most `maxConnections` open.
    static func http1(idleTimeout: Duration, maxConnections: Int) -> HTTPServerBuilder {
        let limit = ConnectionLimit(maxConnections: maxConnections)
        return .http1(configuration: .init(additionalChannelHandlers: [limit.handler()], idleTimeout: TimeAmount(idleTimeout)))
    }
}

/// Holds its connection's place in a `ConnectionLimit`, or closes the connection when there is none.
final class ConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let limit: ConnectionLimit
    private var admitted = false

    init(limit: ConnectionLimit) {
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        admitted = limit.admit()
        if !admitted { context.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if admitted { limit.release() }
        admitted = false
    }
}
