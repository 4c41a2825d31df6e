import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// The delivery engine: claims due deliveries in batches, sends them concurrently, records outcomes in batches.
/// Wakes on the publish `NOTIFY`, polls as a fallback; on graceful shutdown stops claiming, lets sends finish
/// within the shutdown timeout, and hands unfinished leases back.
public final class DeliveryWorker: Service, Sendable {
    /// Seconds a lease outlives the request timeout, so a slow send is never taken over mid-flight.
    public static let defaultLeaseMargin = 30
    static let writeBatchSize = 500
    /// How often the poll task checks its alarms: the lateness of a retry beyond its delay, at most.
    static let alarmResolution: Duration = .milliseconds(100)

    let store: Store
    let sender: WebhookSender
    let retryPolicy: RetryPolicy
    let concurrency: Int
    let subscriptionMaxInFlight: Int
    let batchSize: Int
    let pollInterval: Duration
    let shutdownTimeout: Duration
    let leaseMargin: Int
    let logger: Logger
    let metrics: HammerMetrics
    let state = WorkerState()

    public init(
        config: Config, store: Store, logger: Logger, metrics: HammerMetrics = HammerMetrics(), leaseMargin: Int = DeliveryWorker.defaultLeaseMargin
    ) {
        self.metrics = metrics
        self.leaseMargin = leaseMargin
        self.store = store
        self.sender = WebhookSender(maxResponseBodyBytes: config.maxResponseBodyBytes, allowPrivateTargets: config.allowPrivateTargets)
        self.retryPolicy = RetryPolicy(maxDelay: config.maxRetryDelay)
        self.concurrency = config.workerConcurrency
        self.subscriptionMaxInFlight = config.subscriptionMaxInFlight
        self.batchSize = config.workerBatchSize
        self.pollInterval = config.workerPollInterval
        self.shutdownTimeout = config.workerShutdownTimeout
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await Migrator(client: store.client, logger: logger).requireCurrentSchema()
        } catch {
            await sender.shutdown()
            throw error
        }
        let (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let (recorderBell, ringRecorder) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        logger.info("worker started", metadata: ["hammer.worker.concurrency": "\(concurrency)", "hammer.worker.batch_size": "\(batchSize)"])

        await withGracefulShutdownHandler {
            async let recording: Void = record(bell: recorderBell, ring: ring)
            await withTaskGroup(of: Void.self) { wakers in
                wakers.addTask { await self.listen(ring: ring) }
                wakers.addTask { await self.tick(ring: ring) }
                await claimAndSend(doorbell: doorbell, ring: ring, ringRecorder: ringRecorder)
                wakers.cancelAll()
            }
            ringRecorder.finish()
            await recording
        } onGracefulShutdown: {
            self.state.stop()
            ring.yield()
        }

        let leftover = state.takeLeases()
        if !leftover.isEmpty {
            do {
                try await store.releaseLeases(leftover)
                logger.info("leases handed back", metadata: ["hammer.deliveries": "\(leftover.count)"])
            } catch {
                logger.error("could not hand leases back; they become due when the lease ends", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
        await sender.shutdown()
        logger.info("worker stopped")
    }

    /// Claims while there is capacity, claiming again at once after a claim that found something; otherwise waits
    /// for a bell.
    private func claimAndSend(doorbell: AsyncStream<Void>, ring: AsyncStream<Void>.Continuation, ringRecorder: AsyncStream<Void>.Continuation) async {
        var bells = doorbell.makeAsyncIterator()
        await withDiscardingTaskGroup { sends in
            while !state.stopping {
                // Results not yet written hold their leases too: while writes lag (a slow or failing database),
                // stop claiming once twice the concurrency is held, so memory and the re-sends after a crash stay bounded.
                let capacity = state.capacity(concurrency: concurrency)
                var claimedAny = false
                if capacity > 0 {
                    let limit = min(batchSize, capacity)
                    let (inFlight, held, slotsFreedAtCap) = state.claimInput()
                    do {
                        let claimed = try await store.claimDueDeliveries(
                            limit: limit, leaseMargin: leaseMargin, maxInFlight: subscriptionMaxInFlight, inFlight: inFlight, held: held)
                        state.claimed(claimed)
                        for delivery in claimed {
                            sends.addTask {
                                let outcome = await self.attempt(delivery)
                                // Only a loop waiting for this send needs a ring: one that found nothing due waits
                                // for a publish, an alarm or the poll, rather than claim again after every send.
                                let awaited = self.state.finished(delivery, outcome, maxInFlight: self.subscriptionMaxInFlight)
                                ringRecorder.yield()
                                if awaited { ring.yield() }
                            }
                        }
                        // A claim shares its rows out among subscriptions up to their free slots, so one that came
                        // back short may still leave rows due: claim again until a claim finds nothing.
                        claimedAny = !claimed.isEmpty || !state.waitForSubscriptionSlots(since: slotsFreedAtCap, maxInFlight: subscriptionMaxInFlight)
                    } catch {
                        logger.error("claiming deliveries failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                        // The claim may have committed with its answer lost. Its leases have all ended by the longest
                        // timeout plus the margin: claim again then rather than wait for a long poll interval.
                        state.wake(at: .now + .seconds(Subscription.maxDeliveryAttemptTimeout + leaseMargin + 1))
                    }
                }
                if claimedAny { continue }
                guard await bells.next() != nil else { break }
            }
            // Shutting down: no more claims; in-flight sends get until the deadline, then are cancelled.
            let deadline = ContinuousClock.now + shutdownTimeout
            while state.inFlight > 0, ContinuousClock.now < deadline {
                guard await bells.next() != nil else { break }
            }
            if state.inFlight > 0 {
                logger.warning("shutdown timeout reached; cancelling in-flight sends", metadata: ["hammer.deliveries": "\(state.inFlight)"])
                sends.cancelAll()
            }
        }
    }

    /// Sends one delivery and decides its next state; `nil` when shutdown cut the send short.
    private func attempt(_ delivery: ClaimedDelivery) async -> Store.DeliveryOutcome? {
        metrics.inFlight.increment()
        let result = await sender.send(delivery)
        metrics.inFlight.decrement()
        if result.errorKind == .cancelled, state.stopping { return nil }
        let attemptNumber = delivery.deliveryAttempts + 1
        let outcome: Store.DeliveryOutcome
        if result.success {
            outcome = .init(result: result, status: .completed, retryDelay: 0)
        } else if attemptNumber >= delivery.maxDeliveryAttempts {
            outcome = .init(result: result, status: .failed, retryDelay: 0)
        } else {
            let delay = retryPolicy.delay(afterAttempt: attemptNumber, base: delivery.deliveryAttemptDelay, retryAfter: result.retryAfter)
            outcome = .init(result: result, status: .pending, retryDelay: delay)
        }
        log(outcome, attempt: attemptNumber)
        metrics.attempt(
            outcome: outcome.status == .pending ? "retry" : outcome.status.rawValue, errorKind: result.errorKind?.rawValue ?? "none",
            duration: .milliseconds(result.durationMilliseconds))
        return outcome
    }

    private func log(_ outcome: Store.DeliveryOutcome, attempt: Int) {
        let level: Logger.Level = outcome.status == .completed ? .debug : .info
        guard logger.logLevel <= level else { return }
        let result = outcome.result
        var metadata: Logger.Metadata = [
            "hammer.delivery.id": "\(result.delivery.id)", "hammer.subscription.id": "\(result.delivery.subscriptionID)",
            "hammer.attempt": "\(attempt)", "hammer.attempt.status_code": "\(result.statusCode)",
            "hammer.attempt.duration_ms": "\(result.durationMilliseconds)", "hammer.delivery.status": "\(outcome.status.rawValue)",
        ]
        if !result.success {
            metadata["hammer.attempt.error_kind"] = "\(result.errorKind?.rawValue ?? "")"
            metadata["hammer.attempt.error"] = "\(result.error)"
        }
        switch outcome.status {
        case .completed: logger.debug("delivery completed", metadata: metadata)
        case .failed: logger.info("delivery failed after its last attempt", metadata: metadata)
        case .pending:
            metadata["hammer.attempt.retry_in_s"] = "\(Int(outcome.retryDelay.rounded()))"
            logger.info("delivery attempt failed; will retry", metadata: metadata)
        }
    }

    /// Writes outcomes in batches as they accumulate; after the bell is finished, drains what is left.
    /// Rings `ring` after a write that freed capacity the claim loop was waiting for.
    private func record(bell: AsyncStream<Void>, ring: AsyncStream<Void>.Continuation) async {
        var bells = bell.makeAsyncIterator()
        while true {
            let outcomes = state.takeOutcomes()
            if outcomes.isEmpty {
                if await bells.next() == nil, state.hasNoOutcomes { return }
                continue
            }
            var start = 0
            while start < outcomes.count {
                let chunk = Array(outcomes[start..<min(start + Self.writeBatchSize, outcomes.count)])
                if await write(chunk) { ring.yield() }
                start += Self.writeBatchSize
            }
        }
    }

    /// Writes one batch, retrying while the database is unreachable; gives up only during shutdown.
    /// True when the claim loop waits for the capacity the write freed.
    private func write(_ outcomes: [Store.DeliveryOutcome]) async -> Bool {
        var failures = 0
        while true {
            do {
                let setAside = try await store.recordOutcomes(outcomes)
                if !setAside.isEmpty { metrics.recordsSetAside(setAside.count) }
                let freedCapacity = state.recorded(outcomes.map(\.result.delivery.id))
                let now = ContinuousClock.now
                for outcome in outcomes where outcome.status == .pending {
                    state.wake(at: now + .seconds(outcome.retryDelay))
                }
                return freedCapacity
            } catch {
                failures += 1
                logger.error(
                    "recording delivery outcomes failed; retrying",
                    metadata: ["error": "\(String(reflecting: error))", "hammer.deliveries": "\(outcomes.count)"])
                if state.stopping, failures >= 3 { return false }
                try? await Task.sleep(for: .milliseconds(min(200 * (1 << min(failures, 5)), 5000)))
            }
        }
    }

    /// LISTENs for publish notifications on a dedicated connection, reconnecting after failures.
    private func listen(ring: AsyncStream<Void>.Continuation) async {
        while !Task.isCancelled {
            do {
                try await store.client.withConnection { connection in
                    try await connection.listen(on: Store.deliveriesChannel) { notifications in
                        ring.yield()  // catch up on anything published while not listening
                        for try await _ in notifications { ring.yield() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("LISTEN connection lost; reconnecting", metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// The fallback poll: rings the doorbell every poll interval, and when an alarm is due (a retry's time, a lease
    /// that may have been orphaned), so retries are on time whatever the poll interval.
    private func tick(ring: AsyncStream<Void>.Continuation) async {
        var lastPoll = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: min(pollInterval, Self.alarmResolution))
            let now = ContinuousClock.now
            let alarmed = state.takeDueAlarms(now)
            if alarmed || now - lastPoll >= pollInterval {
                lastPoll = now
                ring.yield()
            }
        }
    }
}
