import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// A real HTTP server on 127.0.0.1 that records every webhook it receives and answers as the test says.
final class WebhookReceiver: Sendable {
    struct Reply: Sendable {
        var status: HTTPResponse.Status = .ok
        var delay: Duration?
        var body: String = #"{"ok":true}"#
        var headers: [(String, String)] = []
    }

    /// What the receiver answers to its 1-based request number.
    struct Replies: Sendable {
        let reply: @Sendable (Int) -> Reply

        static func always(_ reply: Reply) -> Replies { Replies { _ in reply } }

        /// `reply` to the first `count` requests, then `later`.
        static func first(_ count: Int, _ reply: Reply, then later: Reply = Reply()) -> Replies {
            Replies { number in number <= count ? reply : later }
        }
    }

    struct Received: Sendable {
        let method: HTTPRequest.Method
        let path: String
        let headers: HTTPFields
        let body: Data
        let arrivedAt: Date

        func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    let port: Int
    let log: Log
    private let task: Task<Void, any Error>

    var url: String { "http://127.0.0.1:\(port)/hook" }

    /// Starts a receiver; `reply` is called with the 1-based number of the request.
    static func start(reply: @escaping @Sendable (Int) -> Reply = { _ in Reply() }) async throws -> WebhookReceiver {
        let log = Log()
        let router = Router()
        @Sendable func receive(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
            let body = try await request.body.collect(upTo: 16 * 1024 * 1024)
            let number = await log.append(
                Received(method: request.method, path: request.uri.path, headers: request.headers, body: Data(buffer: body), arrivedAt: Date())
            )
            let answer = reply(number)
            if let delay = answer.delay { try await Task.sleep(for: delay) }
            await log.answered()
            var headers: HTTPFields = [.contentType: "application/json"]
            for (name, value) in answer.headers { headers[HTTPField.Name(name)!] = value }
            return Response(status: answer.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        router.post("**", use: receive)
        router.put("**", use: receive)
        router.patch("**", use: receive)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: TestDatabase.logger
        )
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw TestDatabase.SetupError("receiver did not start") }
        return WebhookReceiver(port: port, log: log, task: task)
    }

    private init(port: Int, log: Log, task: Task<Void, any Error>) {
        self.port = port
        self.log = log
        self.task = task
    }

    func stop() { task.cancel() }

    /// The requests received so far, in arrival order.
    actor Log {
        private(set) var requests: [Received] = []

        /// Requests received and not yet answered, and the most there ever were at once.
        private(set) var unanswered = 0
        private(set) var mostAtOnce = 0

        func append(_ request: Received) -> Int {
            requests.append(request)
            unanswered += 1
            mostAtOnce = max(mostAtOnce, unanswered)
            return requests.count
        }

        func answered() { unanswered -= 1 }

        var count: Int { requests.count }
    }
}
