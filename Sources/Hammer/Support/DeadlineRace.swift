import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Runs an operation in its own task and answers with its result or, at a deadline, with a fallback, whichever
/// comes first. The operation is cancelled at the deadline but never awaited past it: a call that ignores
/// cancellation (a query on a connection that died mid-flight, a `getaddrinfo` with no answer) cannot hold its
/// caller for longer than the deadline.
enum DeadlineRace {
    /// `operation`'s result, or `onDeadline()` at `deadline`; cancelling the caller cancels the operation.
    static func run<T: Sendable>(
        until deadline: ContinuousClock.Instant,
        onDeadline: @escaping @Sendable () -> Result<T, any Error>,
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await run(until: MovableDeadline(deadline), onDeadline: onDeadline) { _ in try await operation() }
    }

    /// As `run(until:)`, with a deadline the operation may move (a new budget once it holds a connection);
    /// `settled` is called when the operation itself has ended, which may be after the caller was answered.
    static func run<T: Sendable>(
        until deadline: MovableDeadline,
        onDeadline: @escaping @Sendable () -> Result<T, any Error>,
        settled: (@Sendable () -> Void)? = nil,
        _ operation: @escaping @Sendable (MovableDeadline) async throws -> T
    ) async throws -> T {
        let race = FirstResult<T>()
        let work = Task {
            do { race.finish(.success(try await operation(deadline))) } catch { race.finish(.failure(error)) }
            settled?()
        }
        let timer = DeadlineTimer(deadline) {
            if race.finish(onDeadline()) { work.cancel() }
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await race.value()
        } onCancel: {
            work.cancel()
        }
    }

    /// `operation`'s value, or `nil` at `deadline`.
    static func value<T: Sendable>(
        until deadline: ContinuousClock.Instant,
        _ operation: @escaping @Sendable () async -> T
    ) async -> T? {
        (try? await run(until: deadline, onDeadline: { .success(nil) }, { Optional(await operation()) })) ?? nil
    }
}

/// Calls `fire` once `deadline` has passed (following it when it moves), unless cancelled first. An event loop's
/// scheduled task, which cancelling removes at once: a cancelled `Task.sleep` keeps its timer allocated until the
/// time it was for, and one per send held every send of the last `timeout` seconds in memory (70 MB at 7,000/s).
final class DeadlineTimer: Sendable {
    private struct State {
        var scheduled: Scheduled<Void>?
        var cancelled = false
    }

    private let state = NIOLockedValueBox(State())

    init(_ deadline: MovableDeadline, fire: @escaping @Sendable () -> Void) {
        schedule(deadline, fire: fire)
    }

    func cancel() {
        state.withLockedValue { state in
            state.cancelled = true
            state.scheduled?.cancel()
            state.scheduled = nil
        }
    }

    private func schedule(_ deadline: MovableDeadline, fire: @escaping @Sendable () -> Void) {
        let remaining = deadline.instant - ContinuousClock.now
        let task = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .nanoseconds(max(remaining.wholeNanoseconds, 0))) {
            if deadline.instant > ContinuousClock.now {
                self.schedule(deadline, fire: fire)
            } else if !self.state.withLockedValue({ $0.cancelled }) {
                fire()
            }
        }
        let keep = state.withLockedValue { state -> Bool in
            guard !state.cancelled else { return false }
            state.scheduled = task
            return true
        }
        if !keep { task.cancel() }
    }
}

/// A deadline that the operation it bounds may move.
final class MovableDeadline: Sendable {
    private let value: NIOLockedValueBox<ContinuousClock.Instant>

    init(_ instant: ContinuousClock.Instant) { value = NIOLockedValueBox(instant) }

    var instant: ContinuousClock.Instant { value.withLockedValue { $0 } }

    func move(to instant: ContinuousClock.Instant) { value.withLockedValue { $0 = instant } }
}

/// The first of several results (an operation or its deadline); later ones are dropped.
private final class FirstResult<T: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<T, any Error>?)
        case finished(Result<T, any Error>)
        case delivered
    }

    private struct Late: Error {}

    private let state = NIOLockedValueBox(State.waiting(nil))

    /// Records `result` if it is the first; returns whether it was.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let (first, waiting) = state.withLockedValue { state -> (Bool, CheckedContinuation<T, any Error>?) in
            guard case .waiting(let waiting) = state else { return (false, nil) }
            state = waiting == nil ? .finished(result) : .delivered
            return (true, waiting)
        }
        waiting?.resume(with: result)
        return first
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<T, any Error>? = state.withLockedValue { state in
                switch state {
                case .waiting:
                    state = .waiting(continuation)
                    return nil
                case .finished(let result):
                    state = .delivered
                    return result
                case .delivered:
                    return .failure(Late())
                }
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
