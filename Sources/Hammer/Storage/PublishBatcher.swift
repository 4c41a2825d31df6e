import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceLifecycle

/// Group commit for publishes: concurrent requests are written together in one statement (one transaction),
/// and each is answered only after that transaction commits. Batches form while the previous one is being
/// written, so a lone request is not delayed.
public final class PublishBatcher: Service, Sendable {
    /// One message to publish: topic, content type, and its bytes in base64.
    public struct Request: Sendable {
        public var topicID: String
        public var contentType: String
        public var dataBase64: String
        public init(topicID: String, contentType: String, dataBase64: String) {
            self.topicID = topicID
            self.contentType = contentType
            self.dataBase64 = dataBase64
        }
    }

    private struct Waiting {
        let id: String
        let request: Request
        let continuation: CheckedContinuation<Message, any Error>
    }

    static let maxBatch = 256
    /// Batches written at the same time, each on its own connection.
    static let maxConcurrentBatches = 2

    private let store: Store
    private let metrics: HammerMetrics
    private let queue = NIOLockedValueBox<(waiting: [Waiting], stopped: Bool)>(([], false))
    private let bells: AsyncStream<Void>
    private let bell: AsyncStream<Void>.Continuation

    public init(store: Store, metrics: HammerMetrics) {
        self.store = store
        self.metrics = metrics
        (bells, bell) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Publishes one message; returns once it and its deliveries are committed.
    public func publish(_ request: Request) async throws -> Message {
        let id = ULID.make()
        return try await withCheckedThrowingContinuation { continuation in
            let accepted = queue.withLockedValue { queue in
                guard !queue.stopped else { return false }
                queue.waiting.append(Waiting(id: id, request: request, continuation: continuation))
                return true
            }
            if accepted {
                bell.yield()
            } else {
                continuation.resume(throwing: HammerError.databaseUnavailable)
            }
        }
    }

    public func run() async throws {
        var iterator = bells.makeAsyncIterator()
        let active = NIOLockedValueBox(0)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while await iterator.next() != nil {
                    while active.withLockedValue({ $0 < Self.maxConcurrentBatches }) {
                        let batch = queue.withLockedValue { queue -> [Waiting] in
                            let count = min(queue.waiting.count, Self.maxBatch)
                            defer { queue.waiting.removeFirst(count) }
                            return Array(queue.waiting.prefix(count))
                        }
                        if batch.isEmpty { break }
                        active.withLockedValue { $0 += 1 }
                        group.addTask {
                            await self.write(batch)
                            active.withLockedValue { $0 -= 1 }
                            self.bell.yield()
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            // Requests already queued are still written; the bell's end lets the loop drain and stop.
            self.queue.withLockedValue { $0.stopped = true }
            self.bell.finish()
        }
        // Anything that arrived between the last batch and the stop.
        let leftover = queue.withLockedValue { queue in
            defer { queue.waiting.removeAll() }
            return queue.waiting
        }
        if !leftover.isEmpty { await write(leftover) }
    }

    private func write(_ batch: [Waiting]) async {
        do {
            let created = try await store.publishBatch(batch.map { ($0.id, $0.request) })
            metrics.messagesPublished(created.count)
            for waiting in batch {
                if let createdAt = created[waiting.id] {
                    waiting.continuation.resume(
                        returning: Message(
                            id: waiting.id, topicID: waiting.request.topicID, contentType: waiting.request.contentType,
                            data: waiting.request.dataBase64, createdAt: createdAt))
                } else {
                    waiting.continuation.resume(throwing: HammerError.doesNotExist("topic", id: waiting.request.topicID))
                }
            }
        } catch {
            // A topic deleted while the batch was written fails the whole statement: write each on its own.
            if batch.count > 1, let psql = error as? PSQLError, psql.code == .server, !PostgresErrorMapping.isUnavailable(error) {
                for waiting in batch { await write([waiting]) }
                return
            }
            for waiting in batch { waiting.continuation.resume(throwing: error) }
        }
    }
}
