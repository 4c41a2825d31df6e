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
        /// A subscription the claim found at its cap freed a slot while the claim ran: claim again.
        case claimAgain
        /// Wait for a wake-up; the next send to end for a subscription the claim found at its cap gives one.
        case wait
    }

    /// What a claim needs from the bookkeeping, taken in one lock.
    struct ClaimInput {
        /// Deliveries in flight per subscription (callbacks not counted).
        var inFlight: [String: Int]
        /// Every delivery held: in flight, or sent and waiting to be written (its lease may have lapsed).
        var held: [String]
        /// Sends finished so far per subscription, to tell which slots were freed while the claim ran.
        var finished: [String: Int]
        /// Callbacks in flight per subscription.
        var callbacksInFlight: [String: Int]
        /// Callbacks the claim may take: the free places in the callbacks' pool.
        var callbackRoom: Int
    }

    private struct Values {
        var stopping = false
        var leased: [String: ClaimedDelivery] = [:]
        /// Deliveries in flight per subscription, for its fair share of the slots; subscriptions with none are absent.
        var inFlightBySubscription: [String: Int] = [:]
        /// Callbacks in flight per subscription: they have slots of their own (`callbackSlots` in all), so a slow
        /// callback receiver holds neither its subscription's slots nor anyone else's.
        var callbacksBySubscription: [String: Int] = [:]
        var callbacksInFlight: Int { callbacksBySubscription.values.reduce(0, +) }
        /// Summed over the subscriptions with sends in flight: a few dozen at most.
        var inFlight: Int { inFlightBySubscription.values.reduce(0, +) + callbacksInFlight }
        var outcomes: [DeliveryOutcome] = []
        /// The claim loop stopped for want of capacity: a finished send or a written result must wake it.
        var waitingForCapacity = false
        /// Sends finished per subscription, ever (one entry per subscription seen).
        var finishedBySubscription: [String: Int] = [:]
        /// Each subscription's cap on sends in flight, as its last claimed delivery said.
        var capBySubscription: [String: Int] = [:]
        /// The subscriptions the last claim found at their cap, while the claim loop waits for one of them to free
        /// a slot.
        var waitingForSlotsOf: Set<String> = []
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
    /// Callbacks in flight at most; one ending at this bound wakes the claim loop.
    let callbackSlots: Int

    init(callbackSlots: Int = 16) {
        self.callbackSlots = callbackSlots
    }

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

    /// What the next claim must know.
    func claimInput() -> ClaimInput {
        values.withLockedValue { state in
            ClaimInput(
                inFlight: state.inFlightBySubscription,
                held: Array(state.leased.keys),
                finished: state.finishedBySubscription,
                callbacksInFlight: state.callbacksBySubscription,
                callbackRoom: callbackSlots - state.callbacksInFlight
            )
        }
    }

    func claimed(_ deliveries: [ClaimedDelivery]) {
        values.withLockedValue { state in
            for delivery in deliveries {
                state.leased[delivery.id] = delivery
                if delivery.isCallback {
                    state.callbacksBySubscription[delivery.subscriptionID, default: 0] += 1
                    continue
                }
                state.inFlightBySubscription[delivery.subscriptionID, default: 0] += 1
                if let cap = delivery.maxInFlight { state.capBySubscription[delivery.subscriptionID] = cap }
            }
        }
    }

    /// After a claim made with `input` that came back short with `claimed`. The subscriptions it found at their
    /// cap (before, or with what it took) may have more due: claim again at once if one of them freed a slot while
    /// the claim ran, else wait until one does.
    /// A subscription's cap is the one its claimed deliveries carried (`defaultMaxInFlight` before any).
    func afterShortClaim(_ input: ClaimInput, claimed: [ClaimedDelivery], defaultMaxInFlight: Int) -> AfterShortClaim {
        values.withLockedValue { state in
            func cap(_ subscription: String) -> Int { state.capBySubscription[subscription] ?? defaultMaxInFlight }
            var capped = Set(input.inFlight.filter { $0.value >= cap($0.key) }.keys)
            var taken: [String: Int] = [:]
            for delivery in claimed where !delivery.isCallback { taken[delivery.subscriptionID, default: 0] += 1 }
            for (subscription, count) in taken where input.inFlight[subscription, default: 0] + count >= cap(subscription) {
                capped.insert(subscription)
            }
            if capped.contains(where: { state.finishedBySubscription[$0] != input.finished[$0] }) { return .claimAgain }
            state.waitingForSlotsOf = capped
            return .wait
        }
    }

    /// A send to `delivery` ended; its outcome waits for the recorder unless shutdown cut it short (`nil`).
    func finished(_ delivery: ClaimedDelivery, _ outcome: DeliveryOutcome?) -> ClaimLoopWake {
        values.withLockedValue { state in
            let subscription = delivery.subscriptionID
            if let outcome { state.outcomes.append(outcome) }
            if delivery.isCallback {
                let freedAwaitedSlot = state.callbacksInFlight >= callbackSlots
                let sends = state.callbacksBySubscription[subscription, default: 1]
                state.callbacksBySubscription[subscription] = sends > 1 ? sends - 1 : nil
                return state.takeWaitingForCapacity() || freedAwaitedSlot || state.stopping ? .wake : .none
            }
            let sends = state.inFlightBySubscription[subscription, default: 1]
            state.inFlightBySubscription[subscription] = sends > 1 ? sends - 1 : nil
            state.finishedBySubscription[subscription, default: 0] &+= 1
            let freedAwaitedSlot = state.waitingForSlotsOf.contains(subscription)
            if freedAwaitedSlot { state.waitingForSlotsOf.removeAll() }
            return state.takeWaitingForCapacity() || freedAwaitedSlot || state.stopping ? .wake : .none
        }
    }

    func takeOutcomes() -> [DeliveryOutcome] {
        values.withLockedValue { state in
            defer { state.outcomes.removeAll(keepingCapacity: true) }
            return state.outcomes
        }
    }

    /// The results of `ids` were written: they are no longer held. An ordered subscription's next delivery becomes
    /// claimable only now, so a written result of one wakes the claim loop.
    func recorded(_ ids: [String]) -> ClaimLoopWake {
        values.withLockedValue { state in
            var ordered = false
            for id in ids { ordered = (state.leased.removeValue(forKey: id)?.ordered ?? false) || ordered }
            return state.takeWaitingForCapacity() || ordered ? .wake : .none
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
