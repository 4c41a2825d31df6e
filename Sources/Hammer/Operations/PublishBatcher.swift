import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Group commit for publishes: concurrent requests are written together in one statement (one transaction),
/// and each is answered only after that transaction commits. Batches form while the previous one is being
/// written, so a lone request is not delayed.
public final class PublishBatcher: Service, Sendable {
    /// One request waiting to be written: a single publish or a whole batch, written together or not at all.
    private struct Waiting {
        let group: PublishGroup
        let continuation: CheckedContinuation<PublishOutcome, any Error>
        let enqueuedAt: ContinuousClock.Instant
        let bytes: Int

        init(requests: [PublishRequest], key: IdempotencyKey?, continuation: CheckedContinuation<PublishOutcome, any Error>) {
            self.group = PublishGroup(ids: requests.map { _ in ULID.make() }, requests: requests, key: key)
            self.continuation = continuation
            self.enqueuedAt = .now
            self.bytes = requests.reduce(0) { total, request in
                total + request.dataBase64.utf8.count + request.topicID.utf8.count + request.contentType.utf8.count
                    + (request.eventType?.utf8.count ?? 0)
            }
        }
    }

    private struct Queue {
        var waiting: [Waiting] = []
        var bytes = 0
        var stopped = false

        /// Requests from the front holding at most `messages` messages together (at least one request).
        mutating func take(messages: Int) -> [Waiting] {
            var count = 0
            var taken = 0
            while taken < waiting.count, taken == 0 || count + waiting[taken].group.ids.count <= messages {
                count += waiting[taken].group.ids.count
                taken += 1
            }
            return take(taken)
        }

        mutating func take(_ count: Int) -> [Waiting] {
            let taken = Array(waiting.prefix(count))
            waiting.removeFirst(taken.count)
            bytes -= taken.reduce(0) { $0 + $1.bytes }
            return taken
        }
    }

    static let maxBatch = 256
    /// Batches written at the same time, each on its own connection.
    static let maxConcurrentBatches = 2
    /// Publishes waiting for a batch, at most; past either bound a publish is answered 503 at once.
    let maxQueued: Int
    let maxQueuedBytes: Int
    /// How long a batch's slot stays taken after its CALL was answered, waiting for the CALL itself to end.
    static let settleGrace: Duration = .seconds(20)
    /// How long a publish may wait for a batch to take it; then it is answered 503 and never written.
    static let maxQueueWait: Duration = .seconds(10)

    private let store: Store
    private let metrics: HammerMetrics
    private let queue = NIOLockedValueBox(Queue())
    private let bells: AsyncStream<Void>
    private let bell: AsyncStream<Void>.Continuation

    /// How long an idempotency key stays live.
    let keyTTL: Duration

    public init(
        store: Store,
        metrics: HammerMetrics,
        keyTTL: Duration = .seconds(86400),
        maxQueued: Int = 10_000,
        maxQueuedBytes: Int = 64 << 20
    ) {
        self.store = store
        self.keyTTL = keyTTL
        self.maxQueued = maxQueued
        self.maxQueuedBytes = maxQueuedBytes
        self.metrics = metrics
        (bells, bell) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Publishes one message; returns once it and its deliveries are committed.
    public func publish(_ request: PublishRequest) async throws -> Message {
        switch try await publish([request], key: nil) {
        case .published(let messages):
            guard let message = messages.first else { throw HammerError.internalError }
            return message
        case .unknownTopic: throw HammerError.doesNotExist("topic", id: request.topicID)
        case .keyTakenOrUnknownTopic: throw HammerError.internalError
        }
    }

    /// Publishes `requests` (one request's messages) all together or not at all, and, with `key`, records the key in
    /// the same transaction; returns once that has committed. Concurrent requests are written together.
    public func publish(_ requests: [PublishRequest], key: IdempotencyKey?) async throws -> PublishOutcome {
        try await withCheckedThrowingContinuation { continuation in
            let waiting = Waiting(requests: requests, key: key, continuation: continuation)
            let refusal: HammerError? = queue.withLockedValue { queue in
                guard !queue.stopped else { return .databaseUnavailable }
                guard queue.waiting.count < self.maxQueued, queue.bytes + waiting.bytes <= self.maxQueuedBytes || queue.waiting.isEmpty else {
                    return .publishQueueFull
                }
                queue.waiting.append(waiting)
                queue.bytes += waiting.bytes
                return nil
            }
            if let refusal {
                continuation.resume(throwing: refusal)
            } else {
                bell.yield()
            }
        }
    }

    /// Answers 503 to the publishes that waited longer than `maxQueueWait` for a batch (the database is slow or
    /// down), so nothing waits unbounded and nothing is written after its client was told it failed.
    private func expireWaiting() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            let oldest = ContinuousClock.now - Self.maxQueueWait
            let expired = queue.withLockedValue { queue -> [Waiting] in
                guard let first = queue.waiting.first, first.enqueuedAt < oldest else { return [] }
                return queue.take(queue.waiting.firstIndex { $0.enqueuedAt >= oldest } ?? queue.waiting.count)
            }
            for waiting in expired { waiting.continuation.resume(throwing: HammerError.databaseUnavailable) }
        }
    }

    public func run() async throws {
        var iterator = bells.makeAsyncIterator()
        let active = NIOLockedValueBox(0)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.expireWaiting() }
                while await iterator.next() != nil {
                    while active.withLockedValue({ $0 < Self.maxConcurrentBatches }) {
                        let batch = queue.withLockedValue { $0.take(messages: Self.maxBatch) }
                        if batch.isEmpty { break }
                        active.withLockedValue { $0 += 1 }
                        group.addTask {
                            // A CALL answered 503 at its deadline may still hold its connection: the batch's slot is
                            // free once the CALL has ended (PostgreSQL's statement_timeout ends it), or after a grace
                            // for a connection that died under it, so stuck batches never pile up.
                            let (ended, markEnded) = AsyncStream.makeStream(of: Void.self)
                            await self.write(batch, settled: { markEnded.finish() })
                            _ = await DeadlineRace.value(until: .now + Self.settleGrace) { for await _ in ended {} }
                            active.withLockedValue { $0 -= 1 }
                            self.bell.yield()
                        }
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            // Requests already queued are still written; the bell's end lets the loop drain and stop.
            self.queue.withLockedValue { $0.stopped = true }
            self.bell.finish()
        }
        // Anything that arrived between the last batch and the stop.
        let leftover = queue.withLockedValue { $0.take(Int.max) }
        if !leftover.isEmpty { await write(leftover) }
    }

    private func write(_ batch: [Waiting], settled: (@Sendable () -> Void)? = nil) async {
        do {
            let created = try await store.publishBatch(batch.map(\.group), keyTTL: keyTTL, settled: settled)
            metrics.messagesPublished(created.count)
            for waiting in batch { waiting.continuation.resume(returning: waiting.group.outcome(created: created)) }
        } catch {
            // A topic deleted while the batch was written fails the whole statement: write each on its own.
            if batch.count > 1, PostgresErrorMapping.isRefusedStatement(error) {
                for waiting in batch { await write([waiting]) }
                return
            }
            for waiting in batch { waiting.continuation.resume(throwing: error) }
        }
    }
}
