import NIOConcurrencyHelpers

/// The worker's shared bookkeeping: sends in flight, leases held, outcomes waiting to be written.
final class WorkerState: Sendable {
    private struct Values {
        var stopping = false
        var inFlight = 0
        var leased: [String: ClaimedDelivery] = [:]
        var outcomes: [Store.DeliveryOutcome] = []
    }

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

    /// Leases still held (sends cancelled or results not written), for release at shutdown.
    func takeLeases() -> [ClaimedDelivery] {
        values.withLockedValue { state in
            defer { state.leased.removeAll() }
            return Array(state.leased.values)
        }
    }
}
