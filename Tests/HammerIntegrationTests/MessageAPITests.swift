import Foundation
import PostgresNIO
import Testing

@Suite struct MessageAPITests {
    @Test(arguments: [0, 1, 7])
    func publishFansOutOneDeliveryPerSubscription(subscriptions: Int) async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            try await client.createTopic("other")
            try await client.createSubscription("elsewhere", topic: "other")
            for index in 0..<subscriptions {
                try await client.createSubscription("sub-\(index)", topic: "orders", url: "https://example.com/\(index)")
            }
            let published = try await client.publish(topic: "orders", data: #"{"name": "Allisson"}"#)
            #expect(published.status == .ok)
            let message = try published.decode(Wire.Message.self)
            let id = message.id
            #expect(id.wholeMatch(of: /[0-9A-HJKMNP-TV-Z]{26}/) != nil)
            #expect(message.topicId == "orders")
            #expect(message.contentType == "application/json")
            #expect(message.data == "eyJuYW1lIjogIkFsbGlzc29uIn0=")

            let listed = try await client.send(.get, "/v1/deliveries?message_id=\(id)&limit=50")
            let typed = try listed.decodeList(of: Wire.Delivery.self)
            #expect(typed.count == subscriptions)
            #expect(Set(typed.map(\.subscriptionId)) == Set((0..<subscriptions).map { "sub-\($0)" }))
            #expect(typed.allSatisfy { $0.messageId == id && $0.topicId == "orders" })
            let deliveries = listed.list("deliveries")
            for delivery in deliveries {
                #expect(delivery["status"] as? String == "pending")
                #expect(delivery["delivery_attempts"] as? Int == 0)
                #expect(delivery["data"] as? String == "eyJuYW1lIjogIkFsbGlzc29uIn0=")
                #expect(delivery["content_type"] as? String == "application/json")
                #expect(delivery["max_delivery_attempts"] as? Int == 5)
                #expect(delivery["scheduled_at"] as? String == published["created_at"] as? String)
                #expect(delivery["secret_token"] == nil)
            }
            let all = try await client.send(.get, "/v1/deliveries?limit=50").list("deliveries")
            #expect(all.count == subscriptions)
        }
    }

    @Test func pendingDeliveriesShowTheirSubscriptionsCurrentSettings() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("billing", topic: "orders", url: "https://example.com/old", extra: ["secret_token": "s1"])
            let first = try await client.publish(topic: "orders")
            try await client.send(.patch, "/v1/subscriptions/billing", #"{"url": "https://example.com/new", "max_delivery_attempts": 9}"#)
            let pending = try await client.send(.get, "/v1/deliveries?message_id=\(first["id"] as! String)").list("deliveries")
            #expect(pending.first?["url"] as? String == "https://example.com/new")
            #expect(pending.first?["max_delivery_attempts"] as? Int == 9)
            // No copy of the secret is kept per delivery.
            let columns = try await store.client.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'deliveries'").collect()
            #expect(try !columns.map { try $0.decode(String.self) }.contains("secret_token"))
        }
    }

    @Test func publishNotifiesWorkers() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("billing", topic: "orders")
            try await store.client.withConnection { connection in
                let payload = try await connection.listen(on: "hammer_deliveries") { notifications in
                    try await client.publish(topic: "orders")
                    var iterator = notifications.makeAsyncIterator()
                    return try await iterator.next()?.payload
                }
                #expect(payload == "")
            }
        }
    }

    @Test func publishValidatesAndNeedsATopic() async throws {
        try await TestApp.run { client, store in
            let missing = try await client.send(.post, "/v1/messages", #"{"message": {}}"#)
            #expect(missing.status == .badRequest)
            #expect(missing.errorCode == "invalid_message")
            #expect(missing.detailFields == ["topic_id", "data"])

            let wrongType = try await client.send(.post, "/v1/messages", #"{"topic_id": "orders", "content_type": "text/plain", "data": {"a": 1}}"#)
            #expect(wrongType.detailFields == ["data"])

            let noTopic = try await client.publish(topic: "nope")
            #expect(noTopic.status == .notFound)
            #expect(noTopic.errorCode == "topic_does_not_exists")

            let rows = try await store.client.rowCount(.messages)
            #expect(rows == 0)
        }
    }

    @Test func oversizedBodyIs413AndStoresNothing() async throws {
        try await TestApp.run(environment: ["HAMMER_MAX_MESSAGE_BYTES": "1024"]) { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("billing", topic: "orders")
            let big = try await client.publish(topic: "orders", data: String(repeating: "x", count: 2000))
            #expect(big.status == .contentTooLarge)
            #expect(big.errorCode == "payload_too_large")
            #expect(big["code"] as? Int == 8)
            let fits = try await client.publish(topic: "orders", data: String(repeating: "x", count: 900))
            #expect(fits.status == .ok)
            let rows = try await store.client.rowCount(.messages)
            #expect(rows == 1)
        }
    }

    @Test func getListAndDeleteMessages() async throws {
        try await TestApp.run { client, _ in
            try await client.createTopic("orders")
            try await client.createTopic("users")
            let a = try await client.publish(topic: "orders", data: "a")
            let b = try await client.publish(topic: "users", data: "b")
            let c = try await client.publish(topic: "orders", data: "c")
            let binary = try await client.publish(topic: "orders", data: "a\u{0}b")
            #expect(binary["data"] as? String == Data("a\u{0}b".utf8).base64EncodedString())
            try await client.send(.delete, "/v1/messages/\(binary["id"] as! String)")
            let fetched = try await client.send(.get, "/v1/messages/\(a["id"] as! String)")
            #expect(fetched["data"] as? String == "YQ==")
            #expect(fetched["created_at"] as? String == a["created_at"] as? String)

            let orders = try await client.send(.get, "/v1/messages?topic_id=orders").list("messages")
            #expect(orders.compactMap { $0["id"] as? String } == [a["id"] as! String, c["id"] as! String])
            #expect(try await client.send(.get, "/v1/messages").list("messages").count == 3)

            #expect(try await client.send(.delete, "/v1/messages/\(b["id"] as! String)").text == "{}")
            let gone = try await client.send(.get, "/v1/messages/\(b["id"] as! String)")
            #expect(gone.status == .notFound)
            #expect(gone.errorCode == "message_does_not_exists")
            #expect(try await client.send(.delete, "/v1/messages/\(b["id"] as! String)").status == .notFound)
        }
    }
}

@Suite struct PublishBatchingTests {
    @Test func concurrentPublishesAreEachAnsweredAfterCommit() async throws {
        try await TestApp.run { client, store in
            try await client.createTopic("orders")
            try await client.createSubscription("a", topic: "orders")
            try await client.createSubscription("b", topic: "orders")
            let answers = try await withThrowingTaskGroup(of: (Int, TestResponse).self) { group in
                for index in 0..<60 {
                    group.addTask {
                        (index, try await client.publish(topic: index % 6 == 0 ? "missing" : "orders", data: "m\(index)"))
                    }
                }
                return try await group.reduce(into: [Int: TestResponse]()) { $0[$1.0] = $1.1 }
            }
            var ids = Set<String>()
            for (index, answer) in answers {
                if index % 6 == 0 {
                    #expect(answer.status == .notFound)
                    #expect(answer.errorCode == "topic_does_not_exists")
                } else {
                    #expect(answer.status == .ok)
                    #expect(answer["data"] as? String == Data("m\(index)".utf8).base64EncodedString())
                    let id = try #require(answer["id"] as? String)
                    ids.insert(id)
                    // Answered after commit: the message is readable at once.
                    #expect(try await client.send(.get, "/v1/messages/\(id)").status == .ok)
                }
            }
            #expect(ids.count == 50)
            let counts = try await store.client.query("SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM deliveries)").collect()
                .first!.decode((Int, Int).self)
            #expect(counts.0 == 50)
            #expect(counts.1 == 100)
        }
    }
}
