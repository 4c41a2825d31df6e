import NIOConcurrencyHelpers

/// The worker's shared bookkeeping: sends in flight, leases held, outcomes waiting to be written.
final class WorkerState: Sendable {
    private struct Values {
        var stopping = false
        var inFlight = 0
        var leased: [String: ClaimedDelivery] = [:]
        /// Sends in flight per subscription, for its fair share of the slots; subscriptions with none are absent.
        var inFlightBySubscription: [String: Int] = [:]
        var outcomes: [Store.DeliveryOutcome] = []
        /// The claim loop stopped for want of capacity: a finished send or a written result must ring it.
        var waitingForCapacity = false
        /// Sends finished by subscriptions that were at their cap, so a claim that skipped them can tell it is stale.
        var slotsFreedAtCap = 0
        /// The claim loop waits after a claim that skipped subscriptions at their cap: a send of one of them that
        /// finishes must ring it.
        var waitingForSubscriptionSlots = false
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

    /// What the next claim must know: sends in flight per subscription and every delivery held (in flight or
    /// waiting to be written, whose lease may have lapsed), and the count of slots freed at a cap so far.
    func claimInput() -> (inFlight: [String: Int], held: [String], slotsFreedAtCap: Int) {
        values.withLockedValue { ($0.inFlightBySubscription, Array($0.leased.keys), $0.slotsFreedAtCap) }
    }

    func claimed(_ deliveries: [ClaimedDelivery]) {
        values.withLockedValue { state in
            state.inFlight += deliveries.count
            for delivery in deliveries {
                state.leased[delivery.id] = delivery
                state.inFlightBySubscription[delivery.subscriptionID, default: 0] += 1
            }
        }
    }

    /// Whether the claim loop may wait after a claim that found nothing more, given `slotsFreedAtCap` as it was
    /// before that claim: no when a subscription at its cap freed a slot since (claim again), else it waits, and
    /// the next send to end at a cap rings it.
    func waitForSubscriptionSlots(since slotsFreedAtCap: Int, maxInFlight: Int) -> Bool {
        values.withLockedValue { state in
            guard state.slotsFreedAtCap == slotsFreedAtCap else { return false }
            state.waitingForSubscriptionSlots = state.inFlightBySubscription.values.contains { $0 >= maxInFlight }
            return true
        }
    }

    /// A send to `delivery` ended; its outcome waits for the recorder unless it was cut short by shutdown.
    /// True when the claim loop waits for this: for the capacity or the subscription slot it freed, or, shutting
    /// down, for sends to end.
    func finished(_ delivery: ClaimedDelivery, _ outcome: Store.DeliveryOutcome?, maxInFlight: Int) -> Bool {
        values.withLockedValue { state in
            state.inFlight -= 1
            let sends = state.inFlightBySubscription[delivery.subscriptionID, default: 1]
            state.inFlightBySubscription[delivery.subscriptionID] = sends > 1 ? sends - 1 : nil
            if let outcome { state.outcomes.append(outcome) }
            var freedAwaitedSlot = false
            if sends >= maxInFlight {
                state.slotsFreedAtCap &+= 1
                freedAwaitedSlot = state.waitingForSubscriptionSlots
                state.waitingForSubscriptionSlots = false
            }
            return state.takeWaitingForCapacity() || freedAwaitedSlot || state.stopping
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
