import NIOConcurrencyHelpers

/// The worker's shared bookkeeping: sends in flight, leases held, outcomes waiting to be written.
final class WorkerState: Sendable {
    private struct Values {
        var stopping = false
        var inFlight = 0
        var leased: [String: ClaimedDelivery] = [:]
        var outcomes: [Store.DeliveryOutcome] = []
        /// The claim loop stopped for want of capacity: a finished send or a written result must ring it.
        var waitingForCapacity = false
        /// When something is known to become due (a retry, an orphaned lease ending), earliest first.
        var alarms: [ContinuousClock.Instant] = []

        mutating func takeWaitingForCapacity() -> Bool {
            defer { waitingForCapacity = false }
            return waitingForCapacity
        }
    }

    /// Alarms kept at most; later ones are dropped, and the regular poll finds what they would have.
    static let maxAlarms = 4096

    private let values = NIOLockedValueBox(Values())

    var stopping: Bool { values.withLockedValue { $0.stopping } }
    var inFlight: Int { values.withLockedValue { $0.inFlight } }
    var hasNoOutcomes: Bool { values.withLockedValue { $0.outcomes.isEmpty } }

    func stop() { values.withLockedValue { $0.stopping = true } }

    /// How many more deliveries may be claimed: sends in flight stay under `concurrency` and deliveries held
    /// (in flight or waiting to be written) under twice that. When none, marks the claim loop as waiting for capacity,
    /// in the same lock as the sends and writes that free it, so their ring cannot be missed.
    func capacity(concurrency: Int) -> Int {
        values.withLockedValue { state in
            let capacity = min(concurrency - state.inFlight, 2 * concurrency - state.leased.count)
            state.waitingForCapacity = capacity <= 0
            return capacity
        }
    }

    func claimed(_ deliveries: [ClaimedDelivery]) {
        values.withLockedValue { state in
            state.inFlight += deliveries.count
            for delivery in deliveries { state.leased[delivery.id] = delivery }
        }
    }

    /// A send ended; its outcome waits for the recorder unless it was cut short by shutdown.
    /// True when the claim loop waits for this: for the capacity it freed, or, shutting down, for sends to end.
    func finished(_ outcome: Store.DeliveryOutcome?) -> Bool {
        values.withLockedValue { state in
            state.inFlight -= 1
            if let outcome { state.outcomes.append(outcome) }
            return state.takeWaitingForCapacity() || state.stopping
        }
    }

    func takeOutcomes() -> [Store.DeliveryOutcome] {
        values.withLockedValue { state in
            defer { state.outcomes.removeAll(keepingCapacity: true) }
            return state.outcomes
        }
    }

    /// Results written; true when the claim loop waits for the capacity this freed.
    func recorded(_ ids: [String]) -> Bool {
        values.withLockedValue { state in
            for id in ids { state.leased[id] = nil }
            return state.takeWaitingForCapacity()
        }
    }

    /// Asks for a claim round at `instant` (rounded up by the alarm's check interval).
    func wake(at instant: ContinuousClock.Instant) {
        values.withLockedValue { state in
            var low = 0
            var high = state.alarms.count
            while low < high {
                let middle = (low + high) / 2
                if state.alarms[middle] < instant { low = middle + 1 } else { high = middle }
            }
            guard low < Self.maxAlarms else { return }
            state.alarms.insert(instant, at: low)
            if state.alarms.count > Self.maxAlarms { state.alarms.removeLast() }
        }
    }

    /// Removes the alarms due by `now`; true when there were any.
    func takeDueAlarms(_ now: ContinuousClock.Instant) -> Bool {
        values.withLockedValue { state in
            guard let first = state.alarms.first, first <= now else { return false }
            state.alarms.removeSubrange(0..<(state.alarms.firstIndex { $0 > now } ?? state.alarms.count))
            return true
        }
    }

    /// Leases still held (sends cancelled or results not written), for release at shutdown.
    func takeLeases() -> [ClaimedDelivery] {
        values.withLockedValue { state in
            defer { state.leased.removeAll() }
            return Array(state.leased.values)
        }
    }
}
