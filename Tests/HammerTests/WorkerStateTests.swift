import Foundation
import Testing

@testable import Hammer

/// The worker's bookkeeping: capacity, fair share, when the claim loop is woken, and alarms.
@Suite struct WorkerStateTests {
    static func delivery(_ id: String, subscription: String = "s") -> ClaimedDelivery {
        ClaimedDelivery.sample(id: id, subscriptionID: subscription)
    }

    static func outcome(_ delivery: ClaimedDelivery) -> DeliveryOutcome {
        DeliveryOutcome(
            result: AttemptResult(
                delivery: delivery,
                attemptID: delivery.id,
                request: "",
                response: "",
                statusCode: 200,
                durationMilliseconds: 1,
                success: true,
                error: ""
            ),
            status: .completed
        )
    }

    @Test func capacityCountsSendsAndUnwrittenResults() {
        let state = WorkerState()
        let deliveries = (0..<4).map { Self.delivery("d\($0)") }
        state.claimed(deliveries)
        #expect(state.capacity(concurrency: 4) == 0)
        // A finished send frees a send slot, and the loop that found no capacity is woken for it.
        #expect(state.finished(deliveries[0], Self.outcome(deliveries[0])) == .wake)
        #expect(state.capacity(concurrency: 4) == 1)
        // Held until written: twice the concurrency at most.
        state.claimed((4..<8).map { Self.delivery("d\($0)") })
        #expect(state.capacity(concurrency: 4) <= 0)
        #expect(state.recorded(["d0"]) == .wake)
        #expect(state.takeOutcomes().map(\.result.delivery.id) == ["d0"])
        #expect(state.takeLeases().count == 7)
    }

    @Test func aSendEndingForASubscriptionTheClaimFoundAtItsCapWakesTheLoop() {
        let state = WorkerState()
        let slow = [Self.delivery("a", subscription: "slow"), Self.delivery("b", subscription: "slow")]
        let input = state.claimInput()
        // The claim took both of "slow"'s slots and found nothing else: the loop waits for a "slow" slot.
        state.claimed(slow)
        #expect(state.afterShortClaim(input, claimed: slow, defaultMaxInFlight: 2) == .wait)
        #expect(Set(state.claimInput().held) == ["a", "b"])
        #expect(state.finished(slow[0], Self.outcome(slow[0])) == .wake)
        #expect(state.finished(slow[1], Self.outcome(slow[1])) == .none)
        #expect(state.claimInput().inFlight == [:])
    }

    @Test func aSendEndingForASubscriptionBelowItsCapDoesNotWakeTheLoop() {
        let state = WorkerState()
        let fast = Self.delivery("a", subscription: "fast")
        let input = state.claimInput()
        state.claimed([fast])
        // One taken of a share of 2: "fast" had nothing more due.
        #expect(state.afterShortClaim(input, claimed: [fast], defaultMaxInFlight: 2) == .wait)
        #expect(state.finished(fast, Self.outcome(fast)) == .none)
    }

    /// The case that once left a worker polling: the claim took a capped subscription's last free slot while its
    /// earlier sends ended, so it is below its cap by the time the claim returns; it must claim again at once.
    @Test func aSlotFreedWhileTheClaimRanMeansClaimAgain() {
        let state = WorkerState()
        let slow = [Self.delivery("a", subscription: "slow"), Self.delivery("b", subscription: "slow")]
        state.claimed([slow[0]])
        let input = state.claimInput()
        _ = state.finished(slow[0], nil)
        state.claimed([slow[1]])
        #expect(state.afterShortClaim(input, claimed: [slow[1]], defaultMaxInFlight: 2) == .claimAgain)
    }

    @Test func alarmsComeDueInOrder() {
        let state = WorkerState()
        let now = ContinuousClock.now
        state.wake(at: now + .seconds(2))
        state.wake(at: now + .seconds(1))
        #expect(!state.takeDueAlarms(now))
        #expect(state.takeDueAlarms(now + .milliseconds(1500)))
        #expect(!state.takeDueAlarms(now + .milliseconds(1600)))
        #expect(state.takeDueAlarms(now + .seconds(3)))
    }

    @Test func shutdownWakesTheLoopForEveryEndingSend() {
        let state = WorkerState()
        let deliveries = [Self.delivery("a"), Self.delivery("b")]
        state.claimed(deliveries)
        state.stop()
        #expect(state.finished(deliveries[0], nil) == .wake)
        #expect(state.inFlight == 1)
    }
}
