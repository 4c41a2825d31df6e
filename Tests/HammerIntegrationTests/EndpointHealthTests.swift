import Foundation
import HTTPTypes
import Hammer
import HummingbirdTesting
import PostgresNIO
import Testing

/// Per-subscription limits, FIFO, disabling (docs/endpoint-health.md) through the HTTP API, with real workers and receivers.
@Suite struct EndpointHealthTests {
    /// The app with topic `orders`, a receiver answering `replies`, and `workers` workers on the database.
    private func scenario(
        replies: WebhookReceiver.Replies = .always(.init()),
        workers: Int = 1,
        workerEnvironment: [String: String] = [:],
        _ body: @escaping @Sendable (any TestClientProtocol, Store, WebhookReceiver) async throws -> Void
    ) async throws {
        let receiver = try await WebhookReceiver.start(reply: replies.reply)
        defer { receiver.stop() }
        try await TestApp.run { client, store, url in
            let started = try (0..<workers).map { _ in try TestWorker.start(url, environment: workerEnvironment) }
            try await client.createTopic("orders")
            do {
                try await body(client, store, receiver)
            } catch {
                for worker in started { try await worker.stop() }
                throw error
            }
            for worker in started { try await worker.stop() }
        }
    }

    private func publish(_ client: any TestClientProtocol, _ count: Int) async throws {
        for index in 0..<count { try await client.publish(topic: "orders", data: #"{"n": \#(index)}"#) }
    }

    private func statuses(_ client: any TestClientProtocol, subscription: String) async throws -> [String] {
        try await client.send(.get, "/v1/deliveries?subscription_id=\(subscription)&limit=50").list("deliveries").compactMap {
            $0["status"] as? String
        }
    }

    @Test func maxInFlightIsObservedAtTheReceiver() async throws {
        try await scenario(replies: .always(.init(delay: .milliseconds(150)))) { client, _, receiver in
            try await client.createSubscription("capped", topic: "orders", url: receiver.url, extra: ["max_in_flight": 2])
            // All due at once, so the cap is what keeps them apart.
            let batch = (0..<10).map { ["topic_id": "orders", "data": #"{"n": \#($0)}"#] }
            #expect(try await client.send(.post, "/v1/messages/batch", ["messages": batch]).status == .ok)
            try await eventually("all ten delivered") { await receiver.log.count == 10 }
            let mostAtOnce = await receiver.log.mostAtOnce
            #expect(mostAtOnce == 2, "at most \(mostAtOnce) requests were unanswered at once")
        }
    }

    @Test func aRateLimitSpreadsTheAttempts() async throws {
        try await scenario { client, _, receiver in
            try await client.createSubscription("limited", topic: "orders", url: receiver.url, extra: ["rate_limit": 5])
            let published = Date()
            try await publish(client, 15)
            try await eventually("all fifteen delivered") { await receiver.log.count == 15 }
            let arrivals = await receiver.log.requests.map(\.arrivedAt).sorted()
            // A burst of one second's worth (5) at the first claim, then 5 a second: the 15th is claimed 2 s after the
            // first, which comes after the publish. Measured from the publish, not the first arrival: an arrival lags
            // its claim by however long its send took (the burst opens five connections at once), which only adds.
            let spread = arrivals.last!.timeIntervalSince(published)
            #expect(spread >= 1.8, "15 attempts at 5/s arrived within \(spread)s of the publish")
            // The bucket lets at most 9 claims into any second (5 held, under 5 refilled). Arrivals lag their claims by
            // a varying amount (the first burst opens new connections, later sends reuse them), which has packed 11 into
            // one second on a busy machine: the bound leaves room for that, and still catches a limit not applied.
            for (index, arrival) in arrivals.enumerated() {
                let inOneSecond = arrivals[index...].prefix { $0.timeIntervalSince(arrival) < 1 }.count
                #expect(inOneSecond <= 12, "\(inOneSecond) attempts within one second")
            }
        }
    }

    @Test func anOrderedSubscriptionKeepsPublishOrderThroughRetriesWithOneSendAtATime() async throws {
        // Every third request fails, so some deliveries need a retry; the ones behind them wait.
        let replies = WebhookReceiver.Replies { number in number % 3 == 0 ? .init(status: .internalServerError) : .init() }
        try await scenario(replies: replies, workers: 2) { client, _, receiver in
            try await client.createSubscription(
                "fifo",
                topic: "orders",
                url: receiver.url,
                extra: ["ordered": true, "delivery_attempt_delay": 1, "max_delivery_attempts": 10]
            )
            let count = 9
            try await publish(client, count)
            try await eventually(timeout: .seconds(60), "all delivered in order") {
                try await statuses(client, subscription: "fifo").filter { $0 == "completed" }.count == count
            }
            let requests = await receiver.log.requests
            let numbers = requests.map { ($0.json["data_base64"] as? String).flatMap { Data(base64Encoded: $0) } }
                .map { $0.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Int] }?["n"] ?? -1 }
            // The requests go in publish order; a failed one is sent again before anything after it.
            var expected = 0
            for (index, number) in numbers.enumerated() {
                if index > 0, (index) % 3 == 0 {
                    // The request before this one failed: this is its retry.
                    #expect(number == numbers[index - 1], "request \(index + 1) should retry \(numbers[index - 1]), got \(number)")
                } else {
                    #expect(number == expected, "request \(index + 1): expected message \(expected), got \(number)")
                }
                if (index + 1) % 3 != 0 { expected = number + 1 }
            }
            #expect(await receiver.log.mostAtOnce == 1)
        }
    }

    @Test func aDisabledSubscriptionsDeliveriesWaitAndAreSentOnEnable() async throws {
        try await scenario { client, _, receiver in
            try await client.createSubscription("paused", topic: "orders", url: "http://127.0.0.1:\(receiver.port)/paused")
            try await client.createSubscription("active", topic: "orders", url: "http://127.0.0.1:\(receiver.port)/active")
            let disabled = try await client.send(.post, "/v1/subscriptions/paused/disable")
            #expect(disabled["status"] as? String == "disabled")
            #expect(disabled["disabled_reason"] as? String == Subscription.disabledByHand)
            #expect(disabled["disabled_at"] is String)
            try await publish(client, 3)
            try await eventually("the active subscription's deliveries") { await receiver.log.count == 3 }
            #expect(await receiver.log.requests.allSatisfy { $0.path == "/active" })
            #expect(try await statuses(client, subscription: "paused") == ["pending", "pending", "pending"])

            let enabled = try await client.send(.post, "/v1/subscriptions/paused/enable")
            #expect(enabled["status"] as? String == "active")
            #expect(enabled["disabled_reason"] is NSNull && enabled["disabled_at"] is NSNull)
            try await eventually("the paused subscription's deliveries after enable") { await receiver.log.count == 6 }
            #expect(try await client.send(.post, "/v1/subscriptions/nope/disable").status == .notFound)
        }
    }

    @Test func goneDisablesTheSubscription() async throws {
        try await scenario(replies: .always(.init(status: .gone))) { client, _, receiver in
            try await client.createSubscription("gone", topic: "orders", url: receiver.url)
            try await publish(client, 1)
            try await eventually("the subscription to be disabled") {
                try await client.send(.get, "/v1/subscriptions/gone")["status"] as? String == "disabled"
            }
            let subscription = try await client.send(.get, "/v1/subscriptions/gone")
            #expect(subscription["disabled_reason"] as? String == "the endpoint answered 410 Gone")
            #expect(try await statuses(client, subscription: "gone") == ["pending"])
        }
    }

    @Test func goneDoesNotDisableWhenTurnedOff() async throws {
        try await scenario(replies: .always(.init(status: .gone)), workerEnvironment: ["HAMMER_DISABLE_ON_GONE": "false"]) { client, _, receiver in
            try await client.createSubscription("gone", topic: "orders", url: receiver.url, extra: ["max_delivery_attempts": 1])
            try await publish(client, 1)
            try await eventually("the delivery to fail") { try await statuses(client, subscription: "gone") == ["failed"] }
            #expect(try await client.send(.get, "/v1/subscriptions/gone")["status"] as? String == "active")
        }
    }

    @Test func failingWithoutASuccessForTheSettingDisables() async throws {
        try await scenario(
            replies: .always(.init(status: .internalServerError)),
            workerEnvironment: ["HAMMER_DISABLE_AFTER_FAILING_FOR": "2s"]
        ) { client, _, receiver in
            try await client.createSubscription(
                "failing",
                topic: "orders",
                url: receiver.url,
                extra: ["delivery_attempt_delay": 1, "max_delivery_attempts": 20]
            )
            try await publish(client, 1)
            try await eventually("the subscription to be disabled") {
                try await client.send(.get, "/v1/subscriptions/failing")["status"] as? String == "disabled"
            }
            let subscription = try await client.send(.get, "/v1/subscriptions/failing")
            #expect((subscription["disabled_reason"] as? String)?.hasPrefix("failing without a success since ") == true)
            let attempts = await receiver.log.count
            #expect(attempts >= 2)
        }
    }

    @Test func limitsAreValidatedAndShown() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            let bad = try await client.createSubscription("bad", topic: "orders", extra: ["max_in_flight": 0, "rate_limit": -1, "ordered": "yes"])
            #expect(bad.detailFields == ["max_in_flight", "rate_limit", "ordered"])
            let created = try await client.createSubscription("s", topic: "orders", extra: ["max_in_flight": 3, "rate_limit": 10, "ordered": true])
            #expect(created["max_in_flight"] as? Int == 3)
            #expect(created["rate_limit"] as? Int == 10)
            #expect(created["ordered"] as? Bool == true)
            #expect(created["status"] as? String == "active")
            let reset = try await client.send(.patch, "/v1/subscriptions/s", #"{"max_in_flight": null, "rate_limit": null, "ordered": false}"#)
            #expect(reset["max_in_flight"] is NSNull && reset["rate_limit"] is NSNull && reset["ordered"] as? Bool == false)
        }
    }
}
