import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// HTTP/1.1 client for webhooks on SwiftNIO's own pipeline: each connection goes to an address the caller has
/// already checked (the SSRF check's answer), with the URL's host as TLS server name and certificate name, so DNS
/// cannot move a request after its check, for https as for http. Keep-alive connections are pooled by scheme,
/// host, port and address. One request at a time per connection; the response body is read up to a cap.
final class WebhookHTTPClient: Sendable {
    /// How long an idle kept-alive connection stays open.
    static let idleTimeout: TimeAmount = .seconds(60)
    static let maxIdlePerTarget = 256

    private let group: any EventLoopGroup
    private let tlsConfiguration: TLSConfiguration
    /// Made at the first https request: loading the trust roots costs time that http-only senders need not spend.
    private let tlsContext = NIOLockedValueBox<NIOSSLContext?>(nil)
    private let idle = NIOLockedValueBox<[String: [PooledConnection]]>([:])
    private let sweeper = NIOLockedValueBox<RepeatedTask?>(nil)

    init(tlsConfiguration: TLSConfiguration = .makeClientConfiguration(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
        self.tlsConfiguration = tlsConfiguration
        let sweep = TimeAmount.nanoseconds(Self.idleTimeout.nanoseconds / 6)
        sweeper.withLockedValue { task in
            task = group.next().scheduleRepeatedTask(initialDelay: sweep, delay: sweep) { [weak self] _ in self?.closeIdleConnections() }
        }
    }

    deinit {
        sweeper.withLockedValue { $0?.cancel() }
    }

    private func tls() throws -> NIOSSLContext {
        try tlsContext.withLockedValue { context in
            if let context { return context }
            let made = try NIOSSLContext(configuration: tlsConfiguration)
            context = made
            return made
        }
    }

    /// Sends one request to `address` and reads its response by `deadline` (connecting included): past it, the
    /// connection is closed and `ExchangeDeadlineExceeded` (or a connect timeout) thrown. Cancelling the calling task
    /// closes the connection.
    func execute(
        _ url: WebhookURL,
        address: SocketAddress,
        head: HTTPRequestHead,
        body: ByteBuffer,
        maxBodyBytes: Int,
        deadline: ContinuousClock.Instant
    ) async throws -> WebhookResponse {
        let key = "\(url.isHTTPS ? "https" : "http")|\(url.host)|\(address)"
        let until = NIODeadline.now() + .nanoseconds(max((deadline - ContinuousClock.now).wholeNanoseconds, 0))
        var retried = false
        while true {
            let connectTimeout = TimeAmount.nanoseconds(max((until - .now()).nanoseconds, 1))
            let (connection, reused) = try await connection(key: key, url: url, address: address, connectTimeout: connectTimeout)
            do {
                let response = try await withTaskCancellationHandler {
                    try await connection.exchange(head: head, body: body, maxBodyBytes: maxBodyBytes, deadline: until)
                } onCancel: {
                    connection.close()
                }
                if !response.truncated, response.head.isKeepAlive {
                    release(connection)
                } else {
                    connection.close()
                }
                return response
            } catch let error as ConnectionClosedEarly where reused && !error.receivedAny && !retried {
                // A kept-alive connection the receiver had closed while it was idle: send once more on a new one.
                retried = true
            } catch {
                connection.close()
                throw error
            }
        }
    }

    /// Closes every idle connection and stops the idle sweep.
    func shutdown() {
        sweeper.withLockedValue { task in
            task?.cancel()
            task = nil
        }
        let all = idle.withLockedValue { idle in
            defer { idle.removeAll() }
            return idle.values.flatMap { $0 }
        }
        for connection in all { connection.close() }
    }

    private func connection(key: String, url: WebhookURL, address: SocketAddress, connectTimeout: TimeAmount) async throws -> (PooledConnection, Bool)
    {
        while let pooled = idle.withLockedValue({ idle -> PooledConnection? in
            defer { if idle[key]?.isEmpty == true { idle[key] = nil } }
            return idle[key]?.popLast()
        }) {
            if pooled.channel.isActive { return (pooled, true) }
        }
        let tls: NIOSSLContext? = url.isHTTPS ? try self.tls() : nil
        let exchangeHandler = NIOLockedValueBox<NIOLoopBound<HTTPExchangeHandler>?>(nil)
        // SNI and certificate checks take a name; an IP-literal URL is checked against the certificate's addresses.
        let serverName: String? = TargetAddress.literal(url.host) == nil ? url.host : nil
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls { try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    // WebhookRequest.make checks the header text that comes from outside; NIO's check of every
                    // header byte of every request was a twentieth of the worker's time.
                    try pipeline.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
                    let handler = HTTPExchangeHandler()
                    try pipeline.addHandler(handler)
                    // Kept from here: a refused TLS handshake can tear the pipeline down before connect returns,
                    // and the handler then holds the reason for the first request.
                    exchangeHandler.withLockedValue { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                }
            }
            .connect(to: address).get()
        guard let handler = exchangeHandler.withLockedValue({ $0 }) else { throw ChannelError.ioOnClosedChannel }
        let connection = PooledConnection(key: key, channel: channel, handler: handler)
        channel.closeFuture.whenComplete { [weak self] _ in self?.forget(connection) }
        return (connection, false)
    }

    private func release(_ connection: PooledConnection) {
        let kept = idle.withLockedValue { idle -> Bool in
            guard connection.channel.isActive, idle[connection.key, default: []].count < Self.maxIdlePerTarget else { return false }
            connection.idleSince = .now()
            idle[connection.key, default: []].append(connection)
            return true
        }
        guard kept else { return connection.close() }
    }

    /// Closes the connections idle for longer than `idleTimeout`. One sweep for all of them, every few seconds: a
    /// timer per release (thousands a second) would hold every finished request in the event loop's schedule.
    private func closeIdleConnections() {
        let now = NIODeadline.now()
        let expired = idle.withLockedValue { idle -> [PooledConnection] in
            var expired: [PooledConnection] = []
            for (key, connections) in idle {
                let (old, fresh) = connections.reduce(into: ([PooledConnection](), [PooledConnection]())) { split, connection in
                    if connection.idleSince + Self.idleTimeout <= now { split.0.append(connection) } else { split.1.append(connection) }
                }
                guard !old.isEmpty else { continue }
                expired += old
                idle[key] = fresh.isEmpty ? nil : fresh
            }
            return expired
        }
        for connection in expired { connection.close() }
    }

    /// Removes a closed `connection` from the idle ones, if it was there.
    private func forget(_ connection: PooledConnection) {
        idle.withLockedValue { idle in
            guard let index = idle[connection.key]?.firstIndex(where: { $0 === connection }) else { return }
            idle[connection.key]?.remove(at: index)
            if idle[connection.key]?.isEmpty == true { idle[connection.key] = nil }
        }
    }
}

/// One connection of the pool: its channel and the handler that reads its responses.
final class PooledConnection: Sendable {
    let key: String
    let channel: any Channel
    private let handler: NIOLoopBound<HTTPExchangeHandler>
    private let lastUse = NIOLockedValueBox(NIODeadline.now())

    init(key: String, channel: any Channel, handler: NIOLoopBound<HTTPExchangeHandler>) {
        self.key = key
        self.channel = channel
        self.handler = handler
    }

    /// When the connection last went back to the pool.
    var idleSince: NIODeadline {
        get { lastUse.withLockedValue { $0 } }
        set { lastUse.withLockedValue { $0 = newValue } }
    }

    func close() { channel.close(promise: nil) }

    /// Writes the request and waits for its response until `deadline`, when the connection is closed and
    /// `ExchangeDeadlineExceeded` thrown. The deadline is a timer on the connection's own event loop.
    func exchange(head: HTTPRequestHead, body: ByteBuffer, maxBodyBytes: Int, deadline: NIODeadline) async throws -> WebhookResponse {
        let channel = self.channel
        let handler = self.handler
        return try await channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: WebhookResponse.self)
            handler.value.start(promise, maxBodyBytes: maxBodyBytes)
            let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
                handler.value.fail(ExchangeDeadlineExceeded())
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if body.readableBytes > 0 { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { error in
                handler.value.fail(error)
            }
            return promise.futureResult
        }.get()
    }
}
