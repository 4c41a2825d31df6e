import NIOConcurrencyHelpers

/// The worker's shared bookkeeping: sends in flight, leases held, outcomes waiting to be written.
final class WorkerState: Sendable {
    private struct Values {
        var stopping = false
        var inFlight = 0
        var leased: [String: ClaimedDelivery] = [:]
        var outcomes: [Store.DeliveryOutcome] = []
        /// When something is known to become due (a retry, an orphaned lease ending), earliest first.
        var alarms: [ContinuousClock.Instant] = []
    }

    /// Alarms kept at most; later ones are dropped, and the regular poll finds what they would have.
    static let maxAlarms = 4096

    private let values = NIOLockedValueBox(Values())

    var stopping: Bool { values.withLockedValue { $0.stopping } }
    var inFlight: Int { values.withLockedValue { $0.inFlight } }
    /// Deliveries claimed and not yet written: in flight or waiting for the recorder.
    var held: Int { values.withLockedValue { $0.leased.count } }
    var hasNoOutcomes: Bool { values.withLockedValue { $0.outcomes.isEmpty } }

    func stop() { values.withLockedValue { $0.stopping = true } }

    func claimed(_ deliveries: [ClaimedDelivery]) {
        values.withLockedValue { state in
            state.inFlight += deliveries.count
            for delivery in deliveries { state.leased[delivery.id] = delivery }
        }
    }

    /// A send ended; its outcome waits for the recorder unless it was cut short by shutdown.
    func finished(_ outcome: Store.DeliveryOutcome?) {
        values.withLockedValue { state in
            state.inFlight -= 1
            if let outcome { state.outcomes.append(outcome) }
        }
    }

    func takeOutcomes() -> [Store.DeliveryOutcome] {
        values.withLockedValue { state in
            defer { state.outcomes.removeAll(keepingCapacity: true) }
            return state.outcomes
        }
    }

    func recorded(_ ids: [String]) {
        values.withLockedValue { state in
            for id in ids { state.leased[id] = nil }
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
