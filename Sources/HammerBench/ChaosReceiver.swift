import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A raw HTTP/1.1 receiver on 127.0.0.1 for `hammer-bench chaos`: the request path picks how it behaves,
/// well (`/ok`) or badly (`/never`, `/slow`, `/stalled`, `/reset`, `/huge`, `/malformed`, `/redirect`, `/gone`, `/ratelimit`).
/// It records every arrival by path and `webhook-id`. Written on bare NIO so it can break HTTP on purpose.
final class ChaosReceiver: Sendable {
    enum Behaviour: String, CaseIterable, Sendable {
        case ok, never, slow, stalled, reset, huge, malformed, redirect, gone, ratelimit
        /// Where `/redirect` points; any request here means a redirect was followed.
        case redirected
        /// `/ordered-<lane>`: answers 200 after 3 ms, recording each lane's arrivals in order and how many of its
        /// requests were ever unanswered at once.
        case ordered
        /// `/hold`: never answers, as `/never`, and counts the connections it holds until the client hangs up.
        case hold
    }

    struct Arrival: Sendable {
        let webhookID: String
        let at: Date
    }

    private struct State {
        var arrivals: [Behaviour: [Arrival]] = [:]
        var okDelay: TimeAmount = .zero
        var hugeBytesSent = 0
        var lanes: [String: [String]] = [:]
        var laneUnanswered: [String: Int] = [:]
        var laneMostAtOnce: [String: Int] = [:]
        var held = 0
        var mostHeld = 0
    }

    static let hugeBodyBytes = 1 << 30

    let port: Int
    private let channel: any Channel
    private let state = NIOLockedValueBox(State())

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func start() async throws -> ChaosReceiver {
        let box = NIOLockedValueBox<ChaosReceiver?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    guard let receiver = box.withLockedValue({ $0 }) else { throw ChannelError.ioOnClosedChannel }
                    try child.pipeline.syncOperations.addHandler(ChaosConnection(receiver: receiver))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let receiver = ChaosReceiver(port: channel.localAddress?.port ?? 0, channel: channel)
        box.withLockedValue { $0 = receiver }
        return receiver
    }

    func stop() async {
        try? await channel.close()
    }

    func url(_ behaviour: Behaviour) -> String { "http://127.0.0.1:\(port)/\(behaviour.rawValue)" }

    /// How long `/ok` waits before answering (the overload scenario slows delivery down with it).
    func setOKDelay(_ delay: TimeAmount) { state.withLockedValue { $0.okDelay = delay } }
    var okDelay: TimeAmount { state.withLockedValue { $0.okDelay } }

    func reset() { state.withLockedValue { $0 = State() } }

    func arrivals(_ behaviour: Behaviour) -> [Arrival] { state.withLockedValue { $0.arrivals[behaviour] ?? [] } }
    func count(_ behaviour: Behaviour) -> Int { state.withLockedValue { $0.arrivals[behaviour]?.count ?? 0 } }
    var hugeBytesSent: Int { state.withLockedValue { $0.hugeBytesSent } }

    /// How many times each `webhook-id` arrived at `/ok`.
    func okCounts() -> [String: Int] {
        state.withLockedValue { state in
            var counts: [String: Int] = [:]
            for arrival in state.arrivals[.ok] ?? [] { counts[arrival.webhookID, default: 0] += 1 }
            return counts
        }
    }

    fileprivate func record(_ behaviour: Behaviour, webhookID: String) {
        let arrival = Arrival(webhookID: webhookID, at: Date())
        state.withLockedValue { $0.arrivals[behaviour, default: []].append(arrival) }
    }

    /// Each `/ordered-<lane>` lane's `webhook-id`s in arrival order.
    func lanes() -> [String: [String]] { state.withLockedValue { $0.lanes } }
    /// The most requests of one lane ever unanswered at once.
    var mostAtOnceInALane: Int { state.withLockedValue { $0.laneMostAtOnce.values.max() ?? 0 } }

    fileprivate func laneArrived(_ lane: String, webhookID: String) {
        state.withLockedValue { state in
            state.lanes[lane, default: []].append(webhookID)
            state.laneUnanswered[lane, default: 0] += 1
            state.laneMostAtOnce[lane] = max(state.laneMostAtOnce[lane] ?? 0, state.laneUnanswered[lane] ?? 0)
        }
    }

    fileprivate func laneAnswered(_ lane: String) { state.withLockedValue { $0.laneUnanswered[lane, default: 1] -= 1 } }

    fileprivate func addHugeBytes(_ count: Int) { state.withLockedValue { $0.hugeBytesSent += count } }

    /// The most `/hold` requests ever unanswered at once: the send slots a sender gave that endpoint.
    var mostHeldAtOnce: Int { state.withLockedValue { $0.mostHeld } }

    fileprivate func holdStarted() {
        state.withLockedValue { state in
            state.held += 1
            state.mostHeld = max(state.mostHeld, state.held)
        }
    }

    fileprivate func holdEnded() { state.withLockedValue { $0.held -= 1 } }
}

/// One connection: parses requests (keep-alive, no pipelining needed) and answers per path.
private final class ChaosConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let receiver: ChaosReceiver
    private var buffer = ByteBuffer()
    /// Set while an answer is pending or the connection is being misused; later bytes wait.
    private var busy = false
    /// Set while this connection holds a `/hold` request.
    private var holding = false

    init(receiver: ChaosReceiver) { self.receiver = receiver }

    func channelInactive(context: ChannelHandlerContext) {
        if holding { receiver.holdEnded() }
        holding = false
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        buffer.writeBuffer(&chunk)
        processRequests(channel: context.channel)
    }

    private func processRequests(channel: any Channel) {
        while !busy, let request = nextRequest() {
            answer(request, channel: channel)
        }
    }

    /// The next complete request in the buffer: its path and `webhook-id`; the bytes are consumed.
    private func nextRequest() -> (path: String, webhookID: String)? {
        let view = buffer.readableBytesView
        guard let end = view.firstRange(of: [13, 10, 13, 10]) else { return nil }
        let head = String(decoding: view[view.startIndex..<end.lowerBound], as: UTF8.self)
        var lines = head.split(separator: "\r\n")
        guard !lines.isEmpty else { return nil }
        let requestLine = lines.removeFirst().split(separator: " ")
        var length = 0
        var webhookID = ""
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" { length = Int(value) ?? 0 }
            if name == "webhook-id" { webhookID = value }
        }
        let total = end.upperBound - view.startIndex + length
        guard buffer.readableBytes >= total else { return nil }
        buffer.moveReaderIndex(forwardBy: total)
        buffer.discardReadBytes()
        let path = requestLine.count > 1 ? String(requestLine[1]) : "/"
        return (path, webhookID)
    }

    private func answer(_ request: (path: String, webhookID: String), channel: any Channel) {
        let name = String(request.path.dropFirst())
        let behaviour = name.hasPrefix("ordered-") ? .ordered : ChaosReceiver.Behaviour(rawValue: name) ?? .ok
        receiver.record(behaviour, webhookID: request.webhookID)
        switch behaviour {
        case .ordered:
            receiver.laneArrived(name, webhookID: request.webhookID)
            busy = true
            let loopBound = NIOLoopBound(self, eventLoop: channel.eventLoop)
            let receiver = self.receiver
            channel.eventLoop.scheduleTask(in: .milliseconds(3)) {
                // Counted as answered before the answer leaves, so the next request cannot overlap it in the count.
                receiver.laneAnswered(name)
                write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", channel)
                loopBound.value.busy = false
                loopBound.value.processRequests(channel: channel)
            }
        case .ok, .redirected:
            let delay = receiver.okDelay
            let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            if delay == .zero {
                write(response, channel)
            } else {
                busy = true
                let loopBound = NIOLoopBound(self, eventLoop: channel.eventLoop)
                channel.eventLoop.scheduleTask(in: delay) {
                    write(response, channel)
                    loopBound.value.busy = false
                    loopBound.value.processRequests(channel: channel)
                }
            }
        case .never:
            busy = true
        case .hold:
            busy = true
            holding = true
            receiver.holdStarted()
        case .stalled:
            // A complete head that promises a body which never comes.
            busy = true
            write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", channel)
        case .slow:
            busy = true
            Self.dribble(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8), from: 0, channel: channel)
        case .reset:
            busy = true
            // SO_LINGER 0: close sends RST instead of FIN.
            let lingerSet =
                (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0)) ?? channel.eventLoop.makeSucceededVoidFuture()
            lingerSet.whenComplete { _ in channel.close(promise: nil) }
        case .huge:
            busy = true
            write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: \(ChaosReceiver.hugeBodyBytes)\r\n\r\n", channel)
            Self.pump(remaining: ChaosReceiver.hugeBodyBytes, channel: channel, receiver: receiver)
        case .malformed:
            busy = true
            write("HTTP/1.1 2OO OKAY\r\nthis is not a header line\r\n\r\n", channel)
            channel.close(promise: nil)
        case .redirect:
            write("HTTP/1.1 302 Found\r\nLocation: \(receiver.url(.redirected))\r\nContent-Length: 0\r\n\r\n", channel)
        case .gone:
            write("HTTP/1.1 410 Gone\r\nContent-Length: 4\r\n\r\ngone", channel)
        case .ratelimit:
            write("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 4\r\n\r\nslow", channel)
        }
    }

    /// One byte of `bytes` every 250 ms until done or the peer hangs up.
    private static func dribble(_ bytes: [UInt8], from index: Int, channel: any Channel) {
        guard index < bytes.count, channel.isActive else { return }
        channel.writeAndFlush(ByteBuffer(bytes: [bytes[index]])).whenSuccess {
            channel.eventLoop.scheduleTask(in: .milliseconds(250)) { dribble(bytes, from: index + 1, channel: channel) }
        }
    }

    /// Streams the huge body in 64 KiB chunks, each after the previous one reached the socket, until the peer hangs up.
    private static func pump(remaining: Int, channel: any Channel, receiver: ChaosReceiver) {
        guard remaining > 0 else { return }
        let size = min(remaining, 64 * 1024)
        channel.writeAndFlush(ByteBuffer(repeating: UInt8(ascii: "x"), count: size)).whenComplete { result in
            guard case .success = result else { return }
            receiver.addHugeBytes(size)
            pump(remaining: remaining - size, channel: channel, receiver: receiver)
        }
    }
}

private func write(_ text: String, _ channel: any Channel) {
    channel.writeAndFlush(ByteBuffer(string: text), promise: nil)
}
