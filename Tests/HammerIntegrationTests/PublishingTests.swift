import Foundation
import HTTPTypes
import Hammer
import HummingbirdTesting
import PostgresNIO
import Testing

/// Batch publish, idempotency keys and the SQL outbox (docs/publishing.md).
@Suite struct PublishingTests {
    private func item(_ topic: String, _ data: String, eventType: String? = nil) -> [String: Any] {
        var item: [String: Any] = ["topic_id": topic, "data": data]
        if let eventType { item["event_type"] = eventType }
        return item
    }

    @Test func aBatchIsWrittenInOrderWithItsDeliveries() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createTopic("invoices")
            try await client.createSubscription("a", topic: "orders")
            try await client.createSubscription("b", topic: "invoices")
            let items = (0..<5).map { item($0 % 2 == 0 ? "orders" : "invoices", #"{"n": \#($0)}"#) }
            let answer = try await client.send(.post, "/v1/messages/batch", ["messages": items])
            #expect(answer.status == .ok, "\(answer.text)")
            let messages = answer.list("messages")
            #expect(messages.map { $0["topic_id"] as? String } == ["orders", "invoices", "orders", "invoices", "orders"])
            #expect(messages.map { $0["data"] as? String } == (0..<5).map { Data(#"{"n": \#($0)}"#.utf8).base64EncodedString() })
            for message in messages {
                #expect(try await client.send(.get, "/v1/messages/\(message["id"] as! String)").status == .ok)
            }
            #expect(try await store.client.rowCount(.deliveries) == 5)
        }
    }

    @Test func aBadItemOrAnUnknownTopicWritesNothing() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("a", topic: "orders")
            let bad = try await client.send(
                .post,
                "/v1/messages/batch",
                ["messages": [item("orders", "ok"), ["topic_id": "orders"], item("bad id!", "x"), "not an object"]]
            )
            #expect(bad.status == .badRequest)
            #expect(bad.detailFields == ["messages[1].data", "messages[2].topic_id", "messages[3]"])
            let unknown = try await client.send(.post, "/v1/messages/batch", ["messages": [item("orders", "ok"), item("nope", "x")]])
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "topic_does_not_exists")
            #expect(unknown["message"] as? String == #"topic "nope" does not exist"#)
            #expect(try await store.client.rowCount(.messages) == 0)
            #expect(try await store.client.rowCount(.deliveries) == 0)
        }
    }

    @Test func aBatchHoldsAtMostAThousandMessagesAndTheByteLimit() async throws {
        try await TestApp.run(environment: ["HAMMER_MAX_BATCH_BYTES": "200000"]) { client, store in
            try await client.createTopic("orders")
            let tooMany = try await client.send(.post, "/v1/messages/batch", ["messages": (0..<1001).map { _ in item("orders", "x") }])
            #expect(tooMany.detailFields == ["messages"])
            let empty = try await client.send(.post, "/v1/messages/batch", ["messages": []])
            #expect(empty.detailFields == ["messages"])
            let thousand = try await client.send(.post, "/v1/messages/batch", ["messages": (0..<1000).map { _ in item("orders", "x") }])
            #expect(thousand.list("messages").count == 1000)
            let large = try await client.send(.post, "/v1/messages/batch", ["messages": [item("orders", String(repeating: "x", count: 250_000))]])
            #expect(large.status == .contentTooLarge)
            #expect(try await store.client.rowCount(.messages) == 1000)
        }
    }

    @Test func aBatchAndSinglePublishesAtOnceAllCommit() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("a", topic: "orders")
            try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    try await client.send(.post, "/v1/messages/batch", ["messages": (0..<300).map { _ in item("orders", "b") }]).list("messages")
                        .count
                }
                for _ in 0..<40 {
                    group.addTask { try await client.publish(topic: "orders")["id"] == nil ? 0 : 1 }
                }
                var published = 0
                for try await count in group { published += count }
                #expect(published == 340)
            }
            #expect(try await store.client.rowCount(.messages) == 340)
            #expect(try await store.client.rowCount(.deliveries) == 340)
        }
    }

    @Test func aRepeatedKeyReplaysTheFirstAnswerAndCreatesNothing() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("a", topic: "orders")
            let headers: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "order-42"]
            let body = ["topic_id": "orders", "data": #"{"order": 42}"#]
            let first = try await client.send(.post, "/v1/messages", body, headers: headers)
            #expect(first.status == .ok)
            #expect(first.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            let again = try await client.send(.post, "/v1/messages", ["message": body], headers: headers)
            #expect(again.status == .ok)
            #expect(again.text == first.text)
            #expect(again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try await store.client.rowCount(.messages) == 1)
            #expect(try await store.client.rowCount(.deliveries) == 1)

            let mismatch = try await client.send(.post, "/v1/messages", ["topic_id": "orders", "data": "other"], headers: headers)
            #expect(mismatch.status == .unprocessableContent)
            #expect(mismatch.errorCode == "idempotency_key_mismatch")
            // The same key on the batch endpoint is another request.
            let batch = try await client.send(.post, "/v1/messages/batch", ["messages": [body]], headers: headers)
            #expect(batch.errorCode == "idempotency_key_mismatch")

            let batchHeaders: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "batch-1"]
            let firstBatch = try await client.send(.post, "/v1/messages/batch", ["messages": [body, body]], headers: batchHeaders)
            let againBatch = try await client.send(.post, "/v1/messages/batch", ["messages": [body, body]], headers: batchHeaders)
            #expect(againBatch.text == firstBatch.text)
            #expect(try await store.client.rowCount(.messages) == 3)

            let badKey = try await client.send(
                .post,
                "/v1/messages",
                body,
                headers: [HTTPField.Name("Idempotency-Key")!: String(repeating: "k", count: 256)]
            )
            #expect(badKey.errorCode == "invalid_idempotency_key")
        }
    }

    @Test func aKeyWhoseMessagesAreGoneIsTreatedAsExpired() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            let headers: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "gone"]
            let body = ["topic_id": "orders", "data": "x"]
            let first = try await client.send(.post, "/v1/messages", body, headers: headers)
            let firstID = try #require(first["id"] as? String)
            #expect(try await client.send(.delete, "/v1/messages/\(firstID)").status == .ok)
            let again = try await client.send(.post, "/v1/messages", body, headers: headers)
            #expect(again.status == .ok)
            #expect(again.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            let againID = try #require(again["id"] as? String)
            #expect(againID != firstID)
            let replay = try await client.send(.post, "/v1/messages", body, headers: headers)
            #expect(replay["id"] as? String == againID && replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")

            // A batch with one of its messages gone is published anew, whole: never a shorter list.
            let batchHeaders: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "gone-batch"]
            let batch = try await client.send(.post, "/v1/messages/batch", ["messages": [body, body]], headers: batchHeaders)
            let ids = batch.list("messages").compactMap { $0["id"] as? String }
            #expect(ids.count == 2)
            #expect(try await client.send(.delete, "/v1/messages/\(ids[1])").status == .ok)
            let batchAgain = try await client.send(.post, "/v1/messages/batch", ["messages": [body, body]], headers: batchHeaders)
            #expect(batchAgain.status == .ok && batchAgain.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            let newIDs = batchAgain.list("messages").compactMap { $0["id"] as? String }
            #expect(newIDs.count == 2 && Set(newIDs).isDisjoint(with: ids))

            // The topic gone: the replay publishes anew, which answers that the topic does not exist.
            #expect(try await client.send(.delete, "/v1/topics/orders").status == .ok)
            let noTopic = try await client.send(.post, "/v1/messages", body, headers: headers)
            #expect(noTopic.status == .notFound && noTopic.errorCode == "topic_does_not_exists")
            #expect(try await client.send(.get, "/liveness").status == .noContent)
        }
    }

    @Test func aPublishSentByOneOfThisHammersDeliveriesIsRefused() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("loop", topic: "orders")
            try await client.publish(topic: "orders")
            let delivery = try #require(try await client.send(.get, "/v1/deliveries").list("deliveries").first?["id"] as? String)
            // As a subscription whose URL is this publish endpoint would send it: signed, with the delivery's webhook-id.
            let looped = try await client.send(
                .post,
                "/v1/messages",
                ["topic_id": "orders", "data": "again"],
                headers: [HTTPField.Name("webhook-id")!: delivery]
            )
            #expect(looped.status == .conflict && looped.errorCode == "publish_loop", "\(looped.text)")
            let batch = try await client.send(
                .post,
                "/v1/messages/batch",
                ["messages": [["topic_id": "orders", "data": "again"]]],
                headers: [HTTPField.Name("webhook-id")!: delivery]
            )
            #expect(batch.errorCode == "publish_loop")
            #expect(try await store.client.rowCount(.messages) == 1)
            // Another hammer's webhook (an id unknown here) publishes as usual.
            let forwarded = try await client.send(
                .post,
                "/v1/messages",
                ["topic_id": "orders", "data": "forwarded"],
                headers: [HTTPField.Name("webhook-id")!: ULID.make()]
            )
            #expect(forwarded.status == .ok)
        }
    }

    @Test func concurrentRequestsWithOneKeyCreateOneMessage() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            let headers: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "same"]
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        Int(try await client.send(.post, "/v1/messages", ["topic_id": "orders", "data": "x"], headers: headers).status.code)
                    }
                }
                var statuses: [Int] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 409 }, "\(statuses)")
            #expect(statuses.contains(200))
            #expect(try await store.client.rowCount(.messages) == 1)
        }
    }

    @Test func keysOfDifferentAPIKeysDoNotCollide() async throws {
        try await TestApp.run(environment: ["HAMMER_API_KEYS": "key-one,key-two"]) { client, store in
            let one: HTTPFields = [.authorization: "Bearer key-one", HTTPField.Name("Idempotency-Key")!: "k"]
            let two: HTTPFields = [.authorization: "Bearer key-two", HTTPField.Name("Idempotency-Key")!: "k"]
            #expect(
                try await client.send(.post, "/v1/topics", ["id": "orders", "name": "o"], headers: [.authorization: "Bearer key-one"]).status == .ok
            )
            let first = try await client.send(.post, "/v1/messages", ["topic_id": "orders", "data": "x"], headers: one)
            let second = try await client.send(.post, "/v1/messages", ["topic_id": "orders", "data": "x"], headers: two)
            #expect(first.status == .ok && second.status == .ok)
            #expect(first["id"] as? String != second["id"] as? String)
            #expect(try await store.client.rowCount(.messages) == 2)
        }
    }

    @Test func anExpiredKeyPublishesAgainAndCleanupRemovesIt() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            let headers: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "old"]
            try await client.send(.post, "/v1/messages", ["topic_id": "orders", "data": "x"], headers: headers)
            // The TTL ends (moved into the past rather than waited for).
            try await store.client.expireIdempotencyKeys()
            let again = try await client.send(.post, "/v1/messages", ["topic_id": "orders", "data": "x"], headers: headers)
            #expect(again.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            #expect(try await store.client.rowCount(.messages) == 2)
            try await store.client.expireIdempotencyKeys()
            #expect(try await store.deleteExpiredIdempotencyKeys() == 1)
            #expect(try await store.client.rowCount(.idempotencyKeys) == 0)
        }
    }

    @Test func theOutboxPublishesAtCommitAndNotOnRollback() async throws {
        try await Fixture.withReceiver { url, fixture, receiver in
            try await fixture.topic("orders")
            try await fixture.subscription("a", topic: "orders", url: receiver.url)
            // With a poll this long, only the NOTIFY sent at COMMIT wakes the worker in time.
            let worker = try TestWorker.start(url, environment: ["HAMMER_WORKER_POLL_INTERVAL": "1h"])
            try await fixture.client.withConnection { connection in
                let logger = TestDatabase.logger
                try await connection.query("BEGIN", logger: logger)
                _ = try await connection.query(
                    "SELECT hammer_publish_message('orders', 'application/json', convert_to('{\"rolled\": \"back\"}', 'UTF8'))",
                    logger: logger
                ).collect()
                try await connection.query("ROLLBACK", logger: logger)
                try await connection.query("BEGIN", logger: logger)
                let rows = try await connection.query(
                    "SELECT hammer_publish_message('orders', 'application/json', convert_to('{\"n\": 1}', 'UTF8'), 'order.created')",
                    logger: logger
                ).collect()
                let id = try rows.first!.decode(String.self)
                #expect(id.count == 26)
                try await connection.query("COMMIT", logger: logger)
            }
            try await eventually(timeout: .seconds(10), "the committed message to arrive") { await receiver.log.count == 1 }
            let request = try #require(await receiver.log.requests.first)
            #expect(request.json["type"] as? String == "order.created")
            #expect(request.json["data_base64"] as? String == Data(#"{"n": 1}"#.utf8).base64EncodedString())
            #expect(try await fixture.client.rowCount(.messages) == 1)
            try await worker.stop()
            await #expect(throws: PSQLError.self) {
                try await fixture.client.query("SELECT hammer_publish_message('nope', 'text/plain', 'x'::bytea)").collect()
            }
        }
    }
}
