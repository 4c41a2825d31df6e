import Foundation
import Testing

@testable import Hammer

/// The worker's bookkeeping: capacity, fair share, when the claim loop is woken, and alarms.
@Suite struct WorkerStateTests {
    static func delivery(_ id: String, subscription: String = "s") -> ClaimedDelivery {
        ClaimedDelivery(
            id: id,
            topicID: "t",
            subscriptionID: subscription,
            messageID: id,
            contentType: "application/json",
            dataBase64: "",
            publishedAt: Date(),
            url: "http://x",
            secretToken: "k",
            maxDeliveryAttempts: 1,
            deliveryAttemptDelay: 1,
            deliveryAttemptTimeout: 1,
            deliveryAttempts: 0,
            lease: 0
        )
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
        #expect(state.finished(deliveries[0], Self.outcome(deliveries[0]), maxInFlight: 10) == .wake)
        #expect(state.capacity(concurrency: 4) == 1)
        // Held until written: twice the concurrency at most.
        state.claimed((4..<8).map { Self.delivery("d\($0)") })
        #expect(state.capacity(concurrency: 4) <= 0)
        #expect(state.recorded(["d0"]) == .wake)
        #expect(state.takeOutcomes().map(\.result.delivery.id) == ["d0"])
        #expect(state.takeLeases().count == 7)
    }

    @Test func aSendEndingAtItsSubscriptionsCapWakesALoopThatSkippedIt() {
        let state = WorkerState()
        let slow = [Self.delivery("a", subscription: "slow"), Self.delivery("b", subscription: "slow")]
        state.claimed(slow)
        let input = state.claimInput()
        #expect(input.inFlight == ["slow": 2])
        #expect(Set(input.held) == ["a", "b"])
        // The claim found nothing else: the loop waits, and the first slow send to end wakes it.
        #expect(state.afterShortClaim(since: input.slotsFreedAtCap, maxInFlight: 2) == .wait)
        #expect(state.finished(slow[0], Self.outcome(slow[0]), maxInFlight: 2) == .wake)
        #expect(state.finished(slow[1], Self.outcome(slow[1]), maxInFlight: 2) == .none)
        #expect(state.claimInput().inFlight == [:])
    }

    @Test func aSlotFreedWhileTheClaimRanMeansClaimAgain() {
        let state = WorkerState()
        let slow = [Self.delivery("a", subscription: "slow"), Self.delivery("b", subscription: "slow")]
        state.claimed(slow)
        let before = state.claimInput().slotsFreedAtCap
        _ = state.finished(slow[0], nil, maxInFlight: 2)
        #expect(state.afterShortClaim(since: before, maxInFlight: 2) == .claimAgain)
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
        #expect(state.finished(deliveries[0], nil, maxInFlight: 10) == .wake)
        #expect(state.inFlight == 1)
    }
}
