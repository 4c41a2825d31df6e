import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The delivery engine: claims due deliveries in batches, sends them concurrently, records outcomes in batches.
/// Wakes on the publish `NOTIFY`, polls as a fallback; on graceful shutdown stops claiming, lets sends finish
/// within the shutdown timeout, and hands unfinished leases back. Reaches the database only through its queue.
public final class DeliveryWorker: Service, Sendable {
    /// How long a lease outlives the request timeout, so a slow send is never taken over mid-flight.
    public static let defaultLeaseMargin: Duration = .seconds(30)
    /// How often the poll task checks its alarms: the lateness of a retry beyond its delay, at most.
    static let alarmResolution: Duration = .milliseconds(100)

    let queue: DeliveryQueue
    let sender: WebhookSender
    let retryPolicy: RetryPolicy
    let concurrency: Int
    let subscriptionMaxInFlight: Int
    let autoDisable: AutoDisable
    let batchSize: Int
    let pollInterval: Duration
    let shutdownTimeout: Duration
    let leaseMargin: Duration
    let logger: Logger
    let metrics: HammerMetrics
    let state: WorkerState
    let schemaCheckInterval: Duration
    /// Why the schema check stopped this worker, if it did.
    private let schemaRefusal = NIOLockedValueBox<Migrator.MigrationError?>(nil)

    public init(
        settings: Settings,
        queue: DeliveryQueue,
        sender: WebhookSender,
        logger: Logger,
        metrics: HammerMetrics = HammerMetrics(),
        leaseMargin: Duration = DeliveryWorker.defaultLeaseMargin,
        schemaCheckInterval: Duration = DeliveryWorker.defaultSchemaCheckInterval
    ) {
        self.metrics = metrics
        self.schemaCheckInterval = schemaCheckInterval
        self.leaseMargin = leaseMargin
        self.queue = queue
        self.sender = sender
        self.retryPolicy = RetryPolicy(maxDelay: .seconds(settings.maxRetryDelay))
        self.concurrency = settings.concurrency
        // A quarter of the send slots (at least one) for callbacks: slow callback receivers never hold the slots
        // deliveries need.
        self.state = WorkerState(callbackSlots: max(1, settings.concurrency / 4))
        self.subscriptionMaxInFlight = settings.subscriptionMaxInFlight
        self.autoDisable = settings.autoDisable
        self.batchSize = settings.batchSize
        self.pollInterval = settings.pollInterval
        self.shutdownTimeout = settings.shutdownTimeout
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await queue.requireCurrentSchema()
        } catch {
            await sender.shutdown()
            throw error
        }
        // A wake-up asks the claim loop for a round; the recorder's asks it to write what has accumulated.
        let (claimWakeups, wakeClaimLoop) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let (recordWakeups, wakeRecorder) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        logger.info("worker started", metadata: ["hammer.worker.concurrency": "\(concurrency)", "hammer.worker.batch_size": "\(batchSize)"])

        await withGracefulShutdownHandler {
            async let recording: Void = record(wakeups: recordWakeups, wakeClaimLoop: wakeClaimLoop)
            await withTaskGroup(of: Void.self) { wakers in
                wakers.addTask { await self.queue.listenForPublishes { wakeClaimLoop.yield() } }
                wakers.addTask { await self.poll(wakeClaimLoop: wakeClaimLoop) }
                wakers.addTask { await self.watchSchema(wakeClaimLoop: wakeClaimLoop) }
                await claimAndSend(wakeups: claimWakeups, wakeClaimLoop: wakeClaimLoop, wakeRecorder: wakeRecorder)
                wakers.cancelAll()
            }
            wakeRecorder.finish()
            await recording
        } onGracefulShutdown: {
            self.state.stop()
            wakeClaimLoop.yield()
        }

        let leftover = state.takeLeases()
        if !leftover.isEmpty {
            do {
                try await queue.release(leftover)
                logger.info("leases handed back", metadata: ["hammer.deliveries": "\(leftover.count)"])
            } catch {
                logger.error(
                    "could not hand leases back; they become due when the lease ends",
                    metadata: ["error": "\(DeliveryQueue.logDescription(error))"]
                )
            }
        }
        await sender.shutdown()
        logger.info("worker stopped")
        // Stopped by the schema check: a failure, so the process exits non-zero and a supervisor sees it.
        if let refusal = schemaRefusal.withLockedValue({ $0 }) { throw refusal }
    }

    /// Claims while there is capacity, claiming again at once after a claim that may have left deliveries due;
    /// otherwise waits for a wake-up.
    private func claimAndSend(
        wakeups: AsyncStream<Void>,
        wakeClaimLoop: AsyncStream<Void>.Continuation,
        wakeRecorder: AsyncStream<Void>.Continuation
    ) async {
        var wakeup = wakeups.makeAsyncIterator()
        await withDiscardingTaskGroup { sends in
            while !state.stopping {
                // Results not yet written hold their leases too: while writes lag (a slow or failing database),
                // stop claiming once twice the concurrency is held, so memory and the re-sends after a crash stay bounded.
                let capacity = state.capacity(concurrency: concurrency)
                var claimAgain = false
                if capacity > 0 {
                    let limit = min(batchSize, capacity)
                    let input = state.claimInput()
                    do {
                        let claim = try await queue.claim(
                            limit: limit,
                            leaseMargin: leaseMargin,
                            maxInFlight: subscriptionMaxInFlight,
                            inFlight: input.inFlight,
                            held: input.held,
                            callbacksInFlight: input.callbacksInFlight,
                            maxCallbacks: input.callbackRoom
                        )
                        state.claimed(claim.deliveries)
                        if let wait = claim.rateLimitedFor { state.wake(at: .now + wait) }
                        for delivery in claim.deliveries {
                            sends.addTask {
                                let outcome = await self.attempt(delivery)
                                // Only a loop waiting for this send is woken: one that found nothing due waits for
                                // a publish, an alarm or the poll, rather than claim again after every send.
                                let wake = self.state.finished(delivery, outcome)
                                wakeRecorder.yield()
                                if wake == .wake { wakeClaimLoop.yield() }
                            }
                        }
                        // A claim that took all it could, but what subscriptions at their cap were kept from, leaves the
                        // loop waiting: the next send to end at a cap wakes it (or it claims at once when one already
                        // ended meanwhile).
                        claimAgain =
                            claim.mayLeaveDue
                            || state.afterShortClaim(input, claimed: claim.deliveries, defaultMaxInFlight: subscriptionMaxInFlight) == .claimAgain
                    } catch {
                        logger.error("claiming deliveries failed; retrying", metadata: ["error": "\(DeliveryQueue.logDescription(error))"])
                        // The claim may have committed with its answer lost. Its leases have all ended by the longest
                        // timeout plus the margin: claim again then rather than wait for a long poll interval.
                        state.wake(at: .now + .seconds(Subscription.maxDeliveryAttemptTimeout) + leaseMargin + .seconds(1))
                    }
                }
                if claimAgain { continue }
                guard await wakeup.next() != nil else { break }
            }
            // Shutting down: no more claims; in-flight sends get until the deadline, then are cancelled.
            let deadline = ContinuousClock.now + shutdownTimeout
            while state.inFlight > 0, ContinuousClock.now < deadline {
                guard await wakeup.next() != nil else { break }
            }
            if state.inFlight > 0 {
                logger.warning("shutdown timeout reached; cancelling in-flight sends", metadata: ["hammer.deliveries": "\(state.inFlight)"])
                sends.cancelAll()
            }
        }
    }

    /// Sends one delivery and decides its next state; `nil` when shutdown cut the send short.
    private func attempt(_ delivery: ClaimedDelivery) async -> DeliveryOutcome? {
        metrics.inFlight.increment()
        let result = await sender.send(delivery)
        metrics.inFlight.decrement()
        if result.errorKind == .cancelled, state.stopping { return nil }
        let attemptNumber = delivery.deliveryAttempts + 1
        let outcome: DeliveryOutcome
        if result.success {
            outcome = .init(result: result, status: .completed)
        } else if attemptNumber >= delivery.maxDeliveryAttempts {
            outcome = .init(result: result, status: .failed)
        } else {
            let delay = retryPolicy.delay(
                afterAttempt: attemptNumber,
                base: .seconds(delivery.deliveryAttemptDelay),
                retryAfter: result.retryAfter
            )
            outcome = .init(result: result, status: .pending, retryDelay: delay)
        }
        log(outcome, attempt: attemptNumber)
        let outcomeLabel = outcome.status == .pending ? "retry" : outcome.status.rawValue
        if delivery.isCallback {
            metrics.callback(outcome: outcomeLabel)
        } else {
            metrics.attempt(
                outcome: outcomeLabel,
                errorKind: result.errorKind?.rawValue ?? "none",
                duration: .milliseconds(result.durationMilliseconds)
            )
        }
        return outcome
    }

    private func log(_ outcome: DeliveryOutcome, attempt: Int) {
        let level: Logger.Level = outcome.status == .completed ? .debug : .info
        guard logger.logLevel <= level else { return }
        let result = outcome.result
        let isCallback = result.delivery.isCallback
        var metadata: Logger.Metadata = [
            isCallback ? "hammer.callback.id" : "hammer.delivery.id": "\(result.delivery.id)",
            "hammer.subscription.id": "\(result.delivery.subscriptionID)",
            "hammer.attempt": "\(attempt)", "hammer.attempt.status_code": "\(result.statusCode)",
            "hammer.attempt.duration_ms": "\(result.durationMilliseconds)", "hammer.delivery.status": "\(outcome.status.rawValue)",
        ]
        if !result.success {
            metadata["hammer.attempt.error_kind"] = "\(result.errorKind?.rawValue ?? "")"
            metadata["hammer.attempt.error"] = "\(result.error)"
        }
        let what = isCallback ? "callback" : "delivery"
        switch outcome.status {
        case .completed: logger.debug("\(what) completed", metadata: metadata)
        case .failed: logger.info("\(what) failed after its last attempt", metadata: metadata)
        case .pending:
            metadata["hammer.attempt.retry_in_s"] = "\(Int(outcome.retryDelay.inSeconds.rounded()))"
            logger.info("\(what) attempt failed; will retry", metadata: metadata)
        }
    }

    /// Writes outcomes as they accumulate (the queue splits them into statements by rows and bytes); once `wakeups`
    /// is finished, drains what is left.
    /// Wakes the claim loop after a write that freed capacity it was waiting for.
    private func record(wakeups: AsyncStream<Void>, wakeClaimLoop: AsyncStream<Void>.Continuation) async {
        var wakeup = wakeups.makeAsyncIterator()
        while true {
            let outcomes = state.takeOutcomes()
            if outcomes.isEmpty {
                if await wakeup.next() == nil, state.hasNoOutcomes { return }
                continue
            }
            if await write(outcomes) == .wake { wakeClaimLoop.yield() }
        }
    }

    /// Writes outcomes, retrying while the database is unreachable; gives up only during shutdown.
    private func write(_ outcomes: [DeliveryOutcome]) async -> WorkerState.ClaimLoopWake {
        var failures = 0
        while true {
            do {
                let setAside = try await queue.record(outcomes, autoDisable: autoDisable)
                if !setAside.isEmpty { metrics.recordsSetAside(setAside.count) }
                let wake = state.recorded(outcomes.map(\.result.delivery.id))
                let now = ContinuousClock.now
                for outcome in outcomes where outcome.status == .pending {
                    state.wake(at: now + outcome.retryDelay)
                }
                return wake
            } catch {
                failures += 1
                logger.error(
                    "recording delivery outcomes failed; retrying",
                    metadata: ["error": "\(DeliveryQueue.logDescription(error))", "hammer.deliveries": "\(outcomes.count)"]
                )
                if state.stopping, failures >= 3 { return .none }
                try? await Task.sleep(for: .milliseconds(min(200 * (1 << min(failures, 5)), 5000)))
            }
        }
    }

    /// The fallback poll: wakes the claim loop every poll interval, and when an alarm is due (a retry's time, a lease
    /// that may have been orphaned), so retries are on time whatever the poll interval.
    private func poll(wakeClaimLoop: AsyncStream<Void>.Continuation) async {
        var lastPoll = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: min(pollInterval, Self.alarmResolution))
            let now = ContinuousClock.now
            let alarmed = state.takeDueAlarms(now)
            if alarmed || now - lastPoll >= pollInterval {
                lastPoll = now
                wakeClaimLoop.yield()
            }
        }
    }

    /// How often a running worker checks that the schema still lets it run.
    public static let defaultSchemaCheckInterval: Duration = .seconds(30)

    /// Stops claiming (and ends the worker) once the schema no longer lets this binary run: a migration applied
    /// meanwhile that binaries built for an older schema cannot live with (see `Migrator.requireCurrentSchema`).
    private func watchSchema(wakeClaimLoop: AsyncStream<Void>.Continuation) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: schemaCheckInterval)
            if Task.isCancelled { return }
            do {
                try await queue.requireCurrentSchema()
            } catch let error as Migrator.MigrationError {
                logger.critical("the database schema changed under this worker; it stops claiming", metadata: ["error": "\(error.description)"])
                schemaRefusal.withLockedValue { $0 = error }
                state.stop()
                wakeClaimLoop.yield()
                return
            } catch {
                // PostgreSQL unreachable: the claim loop reports that, and the next check tries again.
            }
        }
    }
}
