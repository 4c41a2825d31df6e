import Foundation
import Hammer
import PostgresNIO
import Testing

/// What `hammer monitor` runs, on a real database (`hammer cleanup`'s partitions: PartitionTests).
@Suite struct OperationsTests {
    @Test func monitorCountsDeliveriesByStatusInTheWindow() async throws {
        try await Fixture.withOrders(subscriptions: ["a", "b"]) { fixture in
            let store = fixture.store
            for _ in 0..<3 { try await fixture.publish(topic: "orders") }
            try await fixture.client.markDeliveries(changedSecondsAgo: 0, subscription: "a")
            try await fixture.client.query(
                "UPDATE deliveries SET updated_at = now() - interval '2 hours' WHERE id = (SELECT min(id) FROM deliveries WHERE subscription_id = 'a')"
            )
            let tenMinutesAgo = Date().addingTimeInterval(-600)
            #expect(try await store.countDeliveries(status: .failed, since: tenMinutesAgo) == 2)
            #expect(try await store.countDeliveries(status: .failed, since: Date().addingTimeInterval(-3 * 3600)) == 3)
            #expect(try await store.countDeliveries(status: .pending, since: tenMinutesAgo) == 3)
            #expect(try await store.countDeliveries(status: .completed, since: tenMinutesAgo) == 0)
        }
    }
}

@Suite struct RecordIdempotenceTests {
    @Test func recordingTheSameOutcomesTwiceChangesNothingTheSecondTime() async throws {
        try await Fixture.withOrders(subscriptions: ["a"]) { fixture in
            let queue = fixture.queue
            try await fixture.publish(topic: "orders")
            let claimed = try await queue.claim(limit: 10, leaseMargin: .seconds(30), maxInFlight: 10).deliveries
            let outcomes = claimed.map { delivery in
                DeliveryOutcome(
                    result: AttemptResult(
                        delivery: delivery,
                        attemptID: ULID.make(),
                        request: "POST / HTTP/1.1",
                        response: "HTTP/1.1 200 OK",
                        statusCode: 200,
                        durationMilliseconds: 1,
                        success: true,
                        error: ""
                    ),
                    status: .completed
                )
            }
            try await queue.record(outcomes)
            // As if the first answer was lost and the worker wrote the batch again.
            try await queue.record(outcomes)
            #expect(try await fixture.client.rowCount(.deliveryAttempts) == 1)
            #expect(try await fixture.client.attemptsOfTheOnlyDelivery() == 1)
            #expect(try await fixture.statuses() == ["completed": 1])
        }
    }
}

/// The claim's bounds: a subscription's free slots, the deliveries the worker holds, and the bytes of message data.
@Suite struct ClaimBoundsTests {
    @Test func aClaimTakesNoMoreThanEachSubscriptionsFreeSlotsNorWhatTheWorkerHolds() async throws {
        try await Fixture.withOrders(subscriptions: ["a", "b"]) { fixture in
            for _ in 0..<5 { try await fixture.publish(topic: "orders") }
            let queue = fixture.queue
            let first = try await queue.claim(limit: 100, leaseMargin: .seconds(30), maxInFlight: 3, inFlight: ["b": 2]).deliveries
            #expect(Dictionary(grouping: first, by: \.subscriptionID).mapValues(\.count) == ["a": 3, "b": 1])
            // Leases that lapsed while this worker still holds the deliveries (an outage longer than the lease).
            try await fixture.client.expireLeases()
            let second = try await queue.claim(
                limit: 100,
                leaseMargin: .seconds(30),
                maxInFlight: 10,
                held: first.map(\.id)
            ).deliveries
            #expect(Set(second.map(\.id)).isDisjoint(with: first.map(\.id)))
            #expect(second.count == 6)
        }
    }

    /// A short claim says whether it may have left deliveries due: only when its limit was shared out before every
    /// subscription with due deliveries got a part, so the worker claims again at once then and waits otherwise.
    @Test func aShortClaimSaysWhetherItMayHaveLeftDeliveriesDue() async throws {
        try await Fixture.withOrders(subscriptions: ["a", "b"]) { fixture in
            for _ in 0..<3 { try await fixture.publish(topic: "orders") }
            let queue = fixture.queue
            // Three due for each; a limit of 2 with a share of 2: "a" takes both, "b" gets no part.
            let first = try await queue.claim(limit: 2, leaseMargin: .seconds(30), maxInFlight: 2)
            #expect(first.deliveries.count == 2 && first.mayLeaveDue)
            // "a" at its cap: "b" takes its share of 2 and the claim is short, with one left for each at their cap.
            let second = try await queue.claim(limit: 10, leaseMargin: .seconds(30), maxInFlight: 2, inFlight: ["a": 2])
            #expect(second.deliveries.map(\.subscriptionID) == ["b", "b"])
            #expect(!second.mayLeaveDue)
        }
    }

    @Test func aClaimStopsAtItsBytesAfterAtLeastOneDelivery() async throws {
        try await Fixture.withOrders(subscriptions: ["a"]) { fixture in
            // 1,000 bytes each: 1,336 bytes of base64.
            for _ in 0..<5 { try await fixture.publish(topic: "orders", data: String(repeating: "x", count: 1000)) }
            let queue = fixture.queue
            #expect(try await queue.claim(limit: 100, leaseMargin: .seconds(30), maxInFlight: 10, maxBytes: 2500).deliveries.count == 2)
            #expect(try await queue.claim(limit: 100, leaseMargin: .seconds(30), maxInFlight: 10, maxBytes: 1).deliveries.count == 1)
            #expect(try await queue.claim(limit: 100, leaseMargin: .seconds(30), maxInFlight: 10).deliveries.count == 2)
        }
    }
}
