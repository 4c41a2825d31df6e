import NIOConcurrencyHelpers

/// The worker's shared bookkeeping: sends in flight (per subscription too), deliveries held, outcomes waiting to be
/// written, alarms for due retries, and whether the claim loop waits for something a send or a write frees.
final class WorkerState: Sendable {
    /// What a finished send or a written batch means for the claim loop.
    enum ClaimLoopWake: Equatable {
        /// The loop waits for the capacity or the slot this freed, or for sends to end at shutdown: wake it.
        case wake
        /// The loop does not wait for this.
        case none
    }

    /// What the claim loop does after a claim that came back short: everything due it could take was taken,
    /// except what subscriptions at their cap were kept from.
    enum AfterShortClaim: Equatable {
        /// A subscription at its cap freed a slot while the claim ran: claim again.
        case claimAgain
        /// Wait for a wake-up; the next send to end at a cap gives one.
        case wait
    }

    private struct Values {
        var stopping = false
        var inFlight = 0
        var leased: [String: ClaimedDelivery] = [:]
        /// Sends in flight per subscription, for its fair share of the slots; subscriptions with none are absent.
        var inFlightBySubscription: [String: Int] = [:]
        var outcomes: [DeliveryOutcome] = []
        /// The claim loop stopped for want of capacity: a finished send or a written result must wake it.
        var waitingForCapacity = false
        /// Sends finished by subscriptions that were at their cap, so a claim that skipped them can tell it is stale.
        var slotsFreedAtCap = 0
        /// The claim loop waits after a claim that skipped subscriptions at their cap.
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
    /// in the same lock as the sends and writes that free it, so their wake-up cannot be missed.
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

    /// After a claim that came back short, given `slotsFreedAtCap` as it was before that claim.
    func afterShortClaim(since slotsFreedAtCap: Int, maxInFlight: Int) -> AfterShortClaim {
        values.withLockedValue { state in
            guard state.slotsFreedAtCap == slotsFreedAtCap else { return .claimAgain }
            state.waitingForSubscriptionSlots = state.inFlightBySubscription.values.contains { $0 >= maxInFlight }
            return .wait
        }
    }

    /// A send to `delivery` ended; its outcome waits for the recorder unless shutdown cut it short (`nil`).
    func finished(_ delivery: ClaimedDelivery, _ outcome: DeliveryOutcome?, maxInFlight: Int) -> ClaimLoopWake {
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
            return state.takeWaitingForCapacity() || freedAwaitedSlot || state.stopping ? .wake : .none
        }
    }

    func takeOutcomes() -> [DeliveryOutcome] {
        values.withLockedValue { state in
            defer { state.outcomes.removeAll(keepingCapacity: true) }
            return state.outcomes
        }
    }

    /// The results of `ids` were written: they are no longer held.
    func recorded(_ ids: [String]) -> ClaimLoopWake {
        values.withLockedValue { state in
            for id in ids { state.leased[id] = nil }
            return state.takeWaitingForCapacity() ? .wake : .none
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

    /// Removes the alarms due by `now`; whether there were any.
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
