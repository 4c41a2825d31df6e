import Crypto
import Foundation
import Hammer
import PostgresNIO
import Testing

/// The worker against a real PostgreSQL and a real HTTP receiver on 127.0.0.1.
@Suite struct DeliveryWorkerTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    @Test func deliversASignedCloudEvent() async throws {
        try await Fixture.withReceiver { url, fixture, receiver in
            try await fixture.topic("orders")
            try await fixture.subscription("billing", topic: "orders", url: receiver.url)
            let worker = try TestWorker.start(url)
            let messageID = try await fixture.publish(topic: "orders", data: #"{"name": "Allisson"}"#)
            try await eventually("the delivery to complete") { try await fixture.statuses() == ["completed": 1] }
            try await worker.stop()

            let requests = await receiver.log.requests
            #expect(requests.count == 1)
            let request = try #require(requests.first)
            let deliveryID = try await fixture.client.onlyDeliveryID()
            #expect(request.path == "/hook")
            #expect(request.header("Content-Type") == "application/json")
            #expect(request.header("User-Agent") == "hammer/\(HammerVersion.current)")
            #expect(request.header("webhook-id") == deliveryID)
            let timestamp = try #require(request.header("webhook-timestamp").flatMap(Int.init))
            #expect(abs(Double(timestamp) - Date().timeIntervalSince1970) < 60)

            // Verify the signature with HMAC directly, not with the code that made it.
            let key = SymmetricKey(data: Data(base64Encoded: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!)
            let signed = Data("\(deliveryID).\(timestamp).".utf8) + request.body
            let expected = "v1," + Data(HMAC<SHA256>.authenticationCode(for: signed, using: key)).base64EncodedString()
            #expect(request.header("webhook-signature") == expected)

            let event = request.json
            #expect(event["specversion"] as? String == "1.0")
            #expect(event["type"] as? String == "hammer.message.created")
            #expect(event["source"] as? String == "/v1/messages/\(messageID)")
            #expect(event["id"] as? String == deliveryID)
            #expect(event["messageid"] as? String == messageID)
            #expect(event["subscriptionid"] as? String == "billing")
            #expect(event["topicid"] as? String == "orders")
            #expect(event["datacontenttype"] as? String == "application/json")
            #expect(event["data_base64"] as? String == Data(#"{"name": "Allisson"}"#.utf8).base64EncodedString())
            #expect(event["secrettoken"] == nil)
            #expect(String(decoding: request.body, as: UTF8.self).hasPrefix(#"{"specversion":"1.0","type":"hammer.message.created","source":"#))

            let attempt = try #require(
                try await fixture.client.query(
                    "SELECT request, response, response_status_code, success, error, execution_duration, delivery_attempts, status FROM delivery_attempts JOIN deliveries ON deliveries.id = delivery_id"
                ).collect().first
            )
            let (storedRequest, responseDump, code, success, error, duration, attempts, status) =
                try attempt.decode((String, String, Int, Bool, String, Int, Int, String).self)
            // The attempt shows the exact request sent; its record holds the line and headers, not the body again.
            let requestDump = try #require(try await fixture.client.attempts().first?.request)
            #expect(requestDump.hasPrefix("POST /hook HTTP/1.1\r\nHost: 127.0.0.1:\(receiver.port)\r\n"))
            #expect(requestDump.contains("webhook-signature: \(expected)\r\n"))
            #expect(requestDump.hasSuffix("\r\n\r\n" + String(decoding: request.body, as: UTF8.self)))
            #expect(storedRequest.hasSuffix("\r\n\r\n") && requestDump == storedRequest + String(decoding: request.body, as: UTF8.self))
            #expect(responseDump.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(responseDump.hasSuffix(#"{"ok":true}"#))
            #expect(code == 200)
            #expect(success)
            #expect(error == "")
            #expect(duration >= 0)
            #expect(attempts == 1)
            #expect(status == "completed")
        }
    }

    @Test func retriesWithGrowingGapsUntilSuccess() async throws {
        try await Fixture.withReceiver(replies: .first(3, .init(status: .internalServerError))) { url, fixture, receiver in
            try await fixture.topic("orders")
            try await fixture.subscription("billing", topic: "orders", url: receiver.url, maxAttempts: 10, delay: 1)
            let worker = try TestWorker.start(url)
            try await fixture.publish(topic: "orders")
            try await eventually(timeout: .seconds(30), "the fourth attempt to succeed") { try await fixture.statuses() == ["completed": 1] }
            try await worker.stop()

            let arrivals = await receiver.log.requests.map(\.arrivedAt)
            #expect(arrivals.count == 4)
            // 1s, 2s, 4s, each ±20%, from when each failure was written (its attempt's created_at): on a machine busy
            // with the parallel tests, writing has come over a second after the arrival, so gaps between arrivals alone
            // said more about the load than about the delays. The 2 s of slack are for the alarm, the claim and the send,
            // which in the same busy test process have taken 1.5 s.
            let recorded = try await attemptTimes(fixture)
            #expect(recorded.count == 4)
            let gaps = zip(arrivals.dropFirst(), recorded).map { $0.timeIntervalSince($1) }
            for (gap, base) in zip(gaps, [1.0, 2.0, 4.0]) {
                #expect(gap >= base * 0.8 - 0.05 && gap <= base * 1.2 + 2.0, "gap \(gap) for base \(base)")
            }
            let attempts = try await fixture.client.attempts()
            #expect(attempts.map(\.success) == [false, false, false, true])
            #expect(attempts.map(\.responseStatusCode) == [500, 500, 500, 200])
            #expect(attempts.first?.error == "unexpected status 500 Internal Server Error")
            #expect(attempts.first?.errorKind == "http_status")
            #expect(try await fixture.client.attemptsOfTheOnlyDelivery() == 4)
        }
    }

    @Test func retriesOnTimeWhateverThePollInterval() async throws {
        try await Fixture.withReceiver(replies: .first(1, .init(status: .serviceUnavailable))) { url, fixture, receiver in
            try await fixture.topic("orders")
            try await fixture.subscription("billing", topic: "orders", url: receiver.url, maxAttempts: 3, delay: 1)
            // Only the publish notification and the retry's own alarm can wake this worker in time.
            let worker = try TestWorker.start(url, environment: ["HAMMER_WORKER_POLL_INTERVAL": "60s"])
            try await fixture.publish(topic: "orders")
            try await eventually(timeout: .seconds(20), "the retry to succeed") { try await fixture.statuses() == ["completed": 1] }
            try await worker.stop()
            let arrivals = await receiver.log.requests.map(\.arrivedAt)
            #expect(arrivals.count == 2)
            // From when the failure was written, as in retriesWithGrowingGapsUntilSuccess; the 60 s poll would be far off.
            let recorded = try await attemptTimes(fixture)
            #expect(recorded.count == 2)
            let gap = arrivals[1].timeIntervalSince(recorded[0])
            #expect(gap >= 0.75 && gap <= 3, "retry gap \(gap) s for a 1 s delay")
        }
    }

    @Test func failsAfterTheMaximumAttempts() async throws {
        try await Fixture.withReceiver(replies: .always(.init(status: .badRequest))) { url, fixture, receiver in
            try await fixture.topic("orders")
            try await fixture.subscription("billing", topic: "orders", url: receiver.url, maxAttempts: 2, delay: 1)
            let worker = try TestWorker.start(url)
            try await fixture.publish(topic: "orders")
            try await eventually("the delivery to fail") { try await fixture.statuses() == ["failed": 1] }
            try await worker.stop()
            #expect(await receiver.log.count == 2)
            #expect(try await fixture.client.attemptsOfTheOnlyDelivery() == 2)
            #expect(try await fixture.client.attemptCount(success: false, statusCode: 400) == 2)
        }
    }

    @Test func respectsRetryAfterOn429() async throws {
        try await Fixture.withReceiver(replies: .first(1, .init(status: .tooManyRequests, headers: [("Retry-After", "3")]))) {
            url,
            fixture,
            receiver in
            try await fixture.topic("orders")
            try await fixture.subscription("billing", topic: "orders", url: receiver.url, maxAttempts: 3, delay: 1)
            let worker = try TestWorker.start(url)
            try await fixture.publish(topic: "orders")
            try await eventually("the retry to succeed") { try await fixture.statuses() == ["completed": 1] }
            try await worker.stop()
            let arrivals = await receiver.log.requests.map(\.arrivedAt)
            #expect(arrivals.count == 2)
            #expect(arrivals[1].timeIntervalSince(arrivals[0]) >= 2.9)
        }
    }

    @Test func recordsTimeoutsRefusalsRedirectsAndSuccessVariants() async throws {
        try await Fixture.withReceiver(replies: .always(.init())) { url, fixture, receiver in
            let slow = try await WebhookReceiver.start(reply: { _ in .init(delay: .seconds(5)) })
            defer { slow.stop() }
            let redirect = try await WebhookReceiver.start(reply: { _ in .init(status: .found, headers: [("Location", receiver.url)]) })
            defer { redirect.stop() }
            let created = try await WebhookReceiver.start(reply: { _ in .init(status: .created) })
            defer { created.stop() }
            let noContent = try await WebhookReceiver.start(reply: { _ in .init(status: .noContent, body: "") })
            defer { noContent.stop() }

            try await fixture.topic("orders")
            try await fixture.subscription("slow", topic: "orders", url: slow.url, maxAttempts: 1, timeout: 1)
            try await fixture.subscription("refused", topic: "orders", url: "http://127.0.0.1:1/hook", maxAttempts: 1)
            try await fixture.subscription("redirect", topic: "orders", url: redirect.url, maxAttempts: 1)
            try await fixture.subscription("created", topic: "orders", url: created.url, maxAttempts: 1)
            try await fixture.subscription("no-content", topic: "orders", url: noContent.url, maxAttempts: 1)
            let worker = try TestWorker.start(url)
            try await fixture.publish(topic: "orders")
            try await eventually("every delivery to finish") {
                try await fixture.client.finishedDeliveries() == 5
            }
            try await worker.stop()

            var outcomes: [String: (status: String, code: Int, kind: String, error: String, duration: Int)] = [:]
            for row in try await fixture.client.query(
                """
                SELECT d.subscription_id, d.status, a.response_status_code, a.error_kind, a.error, a.execution_duration
                FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id
                """
            ).collect() {
                let (subscription, status, code, kind, error, duration) = try row.decode((String, String, Int, String, String, Int).self)
                outcomes[subscription] = (status, code, kind, error, duration)
            }
            #expect(outcomes["slow"]?.status == "failed")
            #expect(outcomes["slow"]?.kind == "timeout")
            #expect(outcomes["slow"]?.error == "timeout after 1s")
            #expect((outcomes["slow"]?.duration ?? 0) >= 900 && (outcomes["slow"]?.duration ?? 0) < 4000)
            #expect(outcomes["refused"]?.kind == "connection_refused")
            #expect(outcomes["refused"]?.error == "connection refused")
            #expect(outcomes["redirect"]?.status == "failed")
            #expect(outcomes["redirect"]?.code == 302)
            #expect(outcomes["redirect"]?.kind == "http_status")
            #expect(await receiver.log.count == 0, "the redirect was not followed")
            #expect(outcomes["created"]?.status == "completed")
            #expect(outcomes["created"]?.code == 201)
            #expect(outcomes["no-content"]?.status == "completed")
            #expect(outcomes["no-content"]?.code == 204)
        }
    }

    @Test func truncatesOversizedResponses() async throws {
        let big = String(repeating: "x", count: 5000)
        try await Fixture.withReceiver(replies: .always(.init(body: big))) { url, fixture, receiver in
            try await fixture.topic("orders")
            try await fixture.subscription("billing", topic: "orders", url: receiver.url)
            let worker = try TestWorker.start(url, environment: ["HAMMER_MAX_RESPONSE_BODY_BYTES": "100"])
            try await fixture.publish(topic: "orders")
            try await eventually("the delivery to complete") { try await fixture.statuses() == ["completed": 1] }
            try await worker.stop()
            let response = try #require(try await fixture.client.attemptResponses().first)
            let body = try #require(response.components(separatedBy: "\r\n\r\n").last)
            #expect(body.hasPrefix(String(repeating: "x", count: 100) + "\n[truncated"))
            #expect(!body.contains(String(repeating: "x", count: 101)))
        }
    }

    @Test func threeWorkersDeliverEachDeliveryExactlyOnce() async throws {
        try await Fixture.withReceiver { url, fixture, receiver in
            try await fixture.topic("orders")
            for index in 0..<5 {
                try await fixture.subscription("s\(index)", topic: "orders", url: receiver.url)
            }
            for index in 0..<600 {
                try await fixture.publish(topic: "orders", data: "message \(index)")
            }
            let workers = try (0..<3).map { _ in
                try TestWorker.start(url, environment: ["HAMMER_WORKER_BATCH_SIZE": "25", "HAMMER_WORKER_CONCURRENCY": "16"])
            }
            try await eventually(timeout: .seconds(90), "3,000 deliveries to complete") { try await fixture.statuses() == ["completed": 3000] }
            for worker in workers { try await worker.stop() }

            let ids = await receiver.log.requests.compactMap { $0.header("webhook-id") }
            #expect(ids.count == 3000)
            #expect(Set(ids).count == 3000)
            #expect(try await fixture.client.rowCount(.deliveryAttempts) == 3000)
            #expect(try await fixture.count("SELECT count(*) FROM deliveries WHERE delivery_attempts <> 1") == 0)
        }
    }

    @Test func abandonedLeasesAreDeliveredAfterTheyEnd() async throws {
        try await Fixture.withReceiver { url, fixture, receiver in
            try await fixture.topic("orders")
            try await fixture.subscription("billing", topic: "orders", url: receiver.url, timeout: 1)
            try await fixture.publish(topic: "orders")
            try await fixture.publish(topic: "orders")
            // A worker that claims and dies: the lease is 1s timeout + 1s margin.
            let abandoned = try await fixture.queue.claim(limit: 10, leaseMargin: .seconds(1), maxInFlight: 10).deliveries
            #expect(abandoned.count == 2)
            let claimedAt = Date()

            let worker = try TestWorker.start(url, leaseMargin: .seconds(1))
            try await eventually("the abandoned deliveries to complete") { try await fixture.statuses() == ["completed": 2] }
            try await worker.stop()
            let arrivals = await receiver.log.requests
            #expect(arrivals.count == 2)
            #expect(arrivals.allSatisfy { $0.arrivedAt.timeIntervalSince(claimedAt) >= 1.5 })
        }
    }

    @Test func stopsClaimingWhileResultsCannotBeWritten() async throws {
        try await Fixture.withReceiver { url, fixture, receiver in
            try await fixture.topic("orders")
            try await fixture.subscription("billing", topic: "orders", url: receiver.url)
            for _ in 0..<20 { try await fixture.publish(topic: "orders") }
            // Claims work, but no result can be written (as with a full disk or a broken attempts table).
            // The refusal ends by deleting a row, not by dropping the trigger: dropping it takes an exclusive lock on
            // every partition of the attempts, which can meet the worker's record in a deadlock.
            try await fixture.client.query("CREATE TABLE refusing (reason text)")
            try await fixture.client.query("INSERT INTO refusing VALUES ('full disk')")
            try await fixture.client.query(
                """
                CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF EXISTS (SELECT 1 FROM refusing) THEN RAISE EXCEPTION 'refused'; END IF;
                    RETURN NEW;
                END $$
                """
            )
            try await fixture.client.query("CREATE TRIGGER refuse BEFORE INSERT ON delivery_attempts FOR EACH ROW EXECUTE FUNCTION refuse()")
            let worker = try TestWorker.start(url, environment: ["HAMMER_WORKER_CONCURRENCY": "4", "HAMMER_WORKER_BATCH_SIZE": "4"])
            try await eventually("twice the concurrency to be sent") { await receiver.log.count >= 8 }
            // Ten polls (100 ms) later the worker still holds only those eight.
            try await Task.sleep(for: .seconds(1))
            #expect(await receiver.log.count == 8)
            #expect(try await fixture.count("SELECT count(*) FROM delivery_queue WHERE leased_until > now()") == 8)

            try await fixture.client.query("DELETE FROM refusing")
            try await eventually("every delivery completed") { try await fixture.statuses() == ["completed": 20] }
            try await worker.stop()
            #expect(await receiver.log.count == 20)
        }
    }

    @Test func gracefulShutdownHandsLeasesBack() async throws {
        try await Fixture.withReceiver(replies: .always(.init(delay: .seconds(30)))) { url, fixture, receiver in
            try await fixture.topic("orders")
            try await fixture.subscription("billing", topic: "orders", url: receiver.url, timeout: 60)
            try await fixture.publish(topic: "orders")
            try await fixture.publish(topic: "orders")
            let worker = try TestWorker.start(url, environment: ["HAMMER_WORKER_SHUTDOWN_TIMEOUT": "200ms"])
            try await eventually("both sends to be in flight") { await receiver.log.count == 2 }
            #expect(try await fixture.count("SELECT count(*) FROM delivery_queue WHERE leased_until > now() + interval '60 seconds'") == 2)
            try await worker.stop()

            #expect(
                try await fixture.count(
                    """
                    SELECT count(*) FROM delivery_queue q JOIN deliveries d ON d.id = q.delivery_id
                    WHERE q.status = 'pending' AND q.scheduled_at <= now() AND q.leased_until IS NULL AND d.delivery_attempts = 0
                    """
                ) == 2
            )
            #expect(try await fixture.client.rowCount(.deliveryAttempts) == 0)
        }
    }

    @Test func wakesOnPublishWithoutWaitingForThePoll() async throws {
        try await Fixture.withReceiver { url, fixture, receiver in
            try await fixture.topic("orders")
            try await fixture.subscription("billing", topic: "orders", url: receiver.url)
            let worker = try TestWorker.start(url, environment: ["HAMMER_WORKER_POLL_INTERVAL": "1h"])
            // The worker's LISTEN is up once a publish made before it started has been delivered via the catch-up claim.
            try await fixture.publish(topic: "orders")
            try await eventually("the first delivery") { await receiver.log.count == 1 }
            try await fixture.publish(topic: "orders")
            try await eventually(timeout: .seconds(5), "the notified delivery") { await receiver.log.count == 2 }
            try await worker.stop()
        }
    }

    /// When each attempt was written, oldest first: a retry's delay runs from there.
    private func attemptTimes(_ fixture: Fixture) async throws -> [Date] {
        try await fixture.client.attemptTimes()
    }
}
