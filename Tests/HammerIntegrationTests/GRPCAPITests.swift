import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import Hammer

/// `hammer.v1.Hammer` through a client generated from the committed proto, against the real server and database.
@Suite struct GRPCAPITests {
    @Test func topicsAreCreatedReadListedRenamedAndDeleted() async throws {
        try await TestGRPC.run { hammer, rest, _, _ in
            let created = try await hammer.createTopic(.with { $0.topic = .with { ($0.id, $0.name) = ("orders", "Orders") } })
            #expect(created.id == "orders")
            #expect(created.name == "Orders")
            #expect(created.hasCreatedAt && created.createdAt == created.updatedAt)
            _ = try await hammer.createTopic(.with { $0.topic = .with { ($0.id, $0.name) = ("users", "Users") } })

            #expect(try await hammer.getTopic(.with { $0.id = "orders" }) == created)
            #expect(try await hammer.listTopics(.init()).topics.map(\.id) == ["orders", "users"])
            #expect(try await hammer.listTopics(.with { ($0.limit, $0.offset) = (1, 1) }).topics.map(\.id) == ["users"])

            // A v0.9.1 client sends the whole topic.
            let renamed = try await hammer.updateTopic(.with { $0.topic = .with { ($0.id, $0.name) = ("orders", "All orders") } })
            #expect(renamed.name == "All orders")
            #expect(try await rest.send(.get, "/v1/topics/orders")["name"] as? String == "All orders")

            try await #require(hammer.deleteTopic(.with { $0.id = "orders" }) == Google_Protobuf_Empty())
            let missing = try await rpcError { _ = try await hammer.getTopic(.with { $0.id = "orders" }) }
            #expect(missing.code == .notFound)
            #expect(missing.hammerError == "topic_does_not_exists")
            #expect(missing.message == (try await rest.send(.get, "/v1/topics/orders"))["message"] as? String)
        }
    }

    @Test func badInputIsRefusedWithTheRESTCodesAndFields() async throws {
        try await TestGRPC.run { hammer, rest, store, _ in
            let empty = try await rpcError { _ = try await hammer.createTopic(.init()) }
            #expect(empty.code == .invalidArgument)
            #expect(empty.hammerError == "invalid_topic")
            #expect(empty.violatedFields == ["id", "name"])
            #expect(empty.message == (try await rest.send(.post, "/v1/topics", ["topic": [:]]))["message"] as? String)

            _ = try await hammer.createTopic(.with { $0.topic = .with { ($0.id, $0.name) = ("orders", "Orders") } })
            let duplicate = try await rpcError {
                _ = try await hammer.createTopic(.with { $0.topic = .with { ($0.id, $0.name) = ("orders", "Again") } })
            }
            #expect(duplicate.code == .alreadyExists)
            #expect(duplicate.hammerError == "topic_already_exists")

            let blank = try await rpcError {
                _ = try await hammer.updateTopic(
                    .with {
                        $0.topic.id = "orders"
                        $0.updateMask.paths = ["name"]
                    }
                )
            }
            #expect(blank.code == .invalidArgument)
            #expect(blank.violatedFields == ["name"])
            let readOnly = try await rpcError {
                _ = try await hammer.updateTopic(
                    .with {
                        $0.topic.id = "orders"
                        $0.updateMask.paths = ["created_at", "colour"]
                    }
                )
            }
            #expect(readOnly.violatedFields == ["update_mask.paths[0]", "update_mask.paths[1]"])
            #expect(try await store.topic(id: "orders").name == "Orders")

            let query = try await rpcError {
                _ = try await hammer.listDeliveries(
                    .with {
                        $0.status = "done"
                        $0.createdAtGt = "yesterday"
                    }
                )
            }
            #expect(query.code == .invalidArgument)
            #expect(query.hammerError == "invalid_query")
            #expect(query.violatedFields == ["created_at_gt", "status"])

            let unknownTopic = try await rpcError {
                _ = try await hammer.createMessage(.with { $0.message = .with { ($0.topicID, $0.data) = ("nope", "x") } })
            }
            #expect(unknownTopic.code == .notFound)
            #expect(unknownTopic.hammerError == "topic_does_not_exists")
            let noData = try await rpcError { _ = try await hammer.createMessage(.with { $0.message.topicID = "orders" }) }
            #expect(noData.violatedFields == ["data"])
            #expect(try await store.messages(ListFilter(limit: 10)).isEmpty)
        }
    }

    @Test func subscriptionsKeepHammersFieldsAndTakeTheNewOnes() async throws {
        try await TestGRPC.run { hammer, rest, _, _ in
            _ = try await hammer.createTopic(.with { $0.topic = .with { ($0.id, $0.name) = ("orders", "Orders") } })
            // Exactly what a v0.9.1 client can send.
            let plain = try await hammer.createSubscription(
                .with {
                    $0.subscription = .with {
                        ($0.id, $0.topicID, $0.name, $0.url) = ("plain", "orders", "Plain", "http://127.0.0.1:1/hook")
                        ($0.maxDeliveryAttempts, $0.deliveryAttemptDelay, $0.deliveryAttemptTimeout) = (5, 60, 5)
                    }
                }
            )
            #expect(plain.secretToken.hasPrefix("whsec_"))
            #expect(plain.httpMethod == "POST" && plain.payloadFormat == "cloudevents" && plain.status == "active")
            #expect(!plain.hasMaxInFlight && !plain.hasPayloadTemplate && plain.headers.isEmpty && !plain.hasAuth)
            #expect(plain.callbackEvents == ["delivery.failed", "subscription.disabled"])

            var options = Hammer_V1_Subscription.with {
                ($0.id, $0.topicID, $0.name, $0.url) = ("rich", "orders", "Rich", "http://127.0.0.1:1/hook")
                ($0.maxDeliveryAttempts, $0.deliveryAttemptDelay, $0.deliveryAttemptTimeout) = (3, 10, 2)
                $0.httpMethod = "PUT"
                $0.headers = ["X-Team": "billing"]
                $0.auth = .with { ($0.type, $0.token) = ("bearer", "s3cret") }
                $0.eventTypes = ["invoice.*"]
                $0.maxInFlight = 2
                $0.rateLimit = 50
            }
            let rich = try await hammer.createSubscription(.with { $0.subscription = options })
            #expect(rich.httpMethod == "PUT" && rich.headers == ["X-Team": "billing"] && rich.auth.token == "s3cret")
            #expect(rich.eventTypes == ["invoice.*"] && rich.maxInFlight == 2 && rich.rateLimit == 50)
            let viaREST = try await rest.send(.get, "/v1/subscriptions/rich")
            #expect(viaREST["http_method"] as? String == "PUT")
            #expect(viaREST["max_in_flight"] as? Int == 2)
            #expect((viaREST["auth"] as? [String: Any])?["token"] as? String == "s3cret")
            #expect(try await hammer.getSubscription(.with { $0.id = "rich" }) == rich)

            // Lists leave out credentials, as REST does.
            let listed = try await hammer.listSubscriptions(.with { $0.topicID = "orders" }).subscriptions
            #expect(listed.map(\.id) == ["plain", "rich"])
            #expect(listed.allSatisfy { $0.secretToken.isEmpty && $0.headers.isEmpty && !$0.hasAuth })

            // A v0.9.1 client updates with the whole resource: zero values keep what is stored.
            let renamed = try await hammer.updateSubscription(
                .with { $0.subscription = .with { ($0.id, $0.name, $0.maxDeliveryAttempts) = ("rich", "Renamed", 7) } }
            )
            #expect(renamed.name == "Renamed" && renamed.maxDeliveryAttempts == 7)
            #expect(renamed.headers == ["X-Team": "billing"] && renamed.hasAuth && renamed.maxInFlight == 2 && renamed.url == rich.url)
            #expect(renamed.secretToken == rich.secretToken)

            // update_mask sets exactly its fields, zero values included: this clears them.
            options = .with { $0.id = "rich" }
            let cleared = try await hammer.updateSubscription(
                .with {
                    $0.subscription = options
                    $0.updateMask.paths = ["headers", "auth", "max_in_flight", "event_types", "http_method"]
                }
            )
            #expect(cleared.headers.isEmpty && !cleared.hasAuth && !cleared.hasMaxInFlight && cleared.eventTypes.isEmpty)
            #expect(cleared.httpMethod == "POST" && cleared.rateLimit == 50 && cleared.name == "Renamed")

            let badMask = try await rpcError {
                _ = try await hammer.updateSubscription(
                    .with {
                        $0.subscription.id = "rich"
                        $0.updateMask.paths = ["status"]
                    }
                )
            }
            #expect(badMask.code == .invalidArgument && badMask.violatedFields == ["update_mask.paths[0]"])
            let badValue = try await rpcError {
                _ = try await hammer.updateSubscription(
                    .with { $0.subscription = .with { ($0.id, $0.httpMethod, $0.url) = ("rich", "GET", "ftp://x") } }
                )
            }
            #expect(badValue.hammerError == "invalid_subscription" && badValue.violatedFields == ["url", "http_method"])

            _ = try await hammer.deleteSubscription(.with { $0.id = "rich" })
            #expect(try await rpcError { _ = try await hammer.getSubscription(.with { $0.id = "rich" }) }.code == .notFound)
            #expect(try await hammer.listSubscriptions(.init()).subscriptions.map(\.id) == ["plain"])
        }
    }

    @Test func messagesPublishedOnEitherAPIAreDeliveredAndVisibleOnTheOther() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestGRPC.run { hammer, rest, _, url in
            try await rest.createTopic("orders")
            try await rest.createSubscription("hook", topic: "orders", url: receiver.url)
            let worker = try TestWorker.start(url)

            let viaGRPC = try await hammer.createMessage(
                .with { $0.message = .with { ($0.topicID, $0.data, $0.eventType) = ("orders", #"{"n":1}"#, "order.created") } }
            )
            #expect(viaGRPC.contentType == "application/json" && viaGRPC.data == Data(#"{"n":1}"#.utf8).base64EncodedString())
            let restView = try await rest.send(.get, "/v1/messages/\(viaGRPC.id)")
            #expect(restView["data"] as? String == viaGRPC.data)
            #expect(restView["event_type"] as? String == "order.created")

            let viaREST = try #require(try await rest.publish(topic: "orders", data: #"{"n":2}"#)["id"] as? String)
            #expect(try await hammer.getMessage(.with { $0.id = viaREST }).data == Data(#"{"n":2}"#.utf8).base64EncodedString())
            #expect(try await hammer.listMessages(.with { $0.topicID = "orders" }).messages.map(\.id) == [viaGRPC.id, viaREST])

            try await eventually("both deliveries completed") {
                try await hammer.listDeliveries(.with { $0.status = "completed" }).deliveries.count == 2
            }
            try await worker.stop()
            // CloudEvents envelopes: the message's bytes as `data_base64`, its event type as `type`.
            let events = await receiver.log.requests.map(\.json)
            let fromGRPC = try #require(events.first { $0["messageid"] as? String == viaGRPC.id })
            #expect(fromGRPC["data_base64"] as? String == viaGRPC.data)
            #expect(fromGRPC["type"] as? String == "order.created")
            #expect(events.contains { $0["messageid"] as? String == viaREST })

            let delivery = try #require(try await hammer.listDeliveries(.with { $0.messageID = viaGRPC.id }).deliveries.first)
            #expect(delivery.subscriptionID == "hook" && delivery.eventType == "order.created" && delivery.deliveryAttempts == 1)
            #expect(delivery.secretToken.isEmpty)
            #expect(try await hammer.getDelivery(.with { $0.id = delivery.id }) == delivery)
            let restDelivery = try await rest.send(.get, "/v1/deliveries/\(delivery.id)")
            #expect(restDelivery["status"] as? String == delivery.status)
            let attempts = try await hammer.listDeliveryAttempts(.with { $0.deliveryID = delivery.id }).deliveryAttempts
            let attempt = try #require(attempts.first)
            #expect(attempts.count == 1 && attempt.success && attempt.responseStatusCode == 200)
            #expect(attempt.request.hasPrefix("POST /hook HTTP/1.1"))
            #expect(try await hammer.getDeliveryAttempt(.with { $0.id = attempt.id }) == attempt)

            _ = try await hammer.deleteMessage(.with { $0.id = viaREST })
            #expect(try await rest.send(.get, "/v1/messages/\(viaREST)").status == .notFound)
        }
    }

    @Test func anIdempotencyKeyInMetadataReplaysAcrossBothAPIs() async throws {
        try await TestGRPC.run { hammer, rest, store, _ in
            try await rest.createTopic("orders")
            let request = Hammer_V1_CreateMessageRequest.with { $0.message = .with { ($0.topicID, $0.data) = ("orders", "hello") } }
            let first = try await hammer.createMessage(request, metadata: ["idempotency-key": "order-1"]) { response in
                (try response.message, response.metadata.firstString("idempotent-replayed"))
            }
            let second = try await hammer.createMessage(request, metadata: ["idempotency-key": "order-1"]) { response in
                (try response.message, response.metadata.firstString("idempotent-replayed"))
            }
            #expect(first.1 == nil && second.1 == "true")
            #expect(first.0 == second.0)
            let overREST = try await rest.send(
                .post,
                "/v1/messages",
                ["message": ["topic_id": "orders", "data": "hello"]],
                headers: [.init("Idempotency-Key")!: "order-1"]
            )
            #expect(overREST["id"] as? String == first.0.id)
            #expect(overREST.headers[.init("Idempotent-Replayed")!] == "true")

            let otherRequest = Hammer_V1_CreateMessageRequest.with { $0.message = .with { ($0.topicID, $0.data) = ("orders", "other") } }
            let mismatch = try await rpcError { _ = try await hammer.createMessage(otherRequest, metadata: ["idempotency-key": "order-1"]) }
            #expect(mismatch.code == .invalidArgument && mismatch.hammerError == "idempotency_key_mismatch")
            #expect(try await store.messages(ListFilter(limit: 10)).count == 1)
        }
    }

    @Test func aNULInAnIdIsInvalidArgument() async throws {
        try await TestGRPC.run { hammer, _, _, _ in
            for call in [
                { _ = try await hammer.getTopic(.with { $0.id = "a\u{0}b" }) },
                { _ = try await hammer.getMessage(.with { $0.id = "a\u{0}b" }) },
                { _ = try await hammer.getDelivery(.with { $0.id = "a\u{0}b" }) },
            ] as [@Sendable () async throws -> Void] {
                let refused = try await rpcError(call)
                #expect(refused.code == .invalidArgument && refused.hammerError == "invalid_argument", "\(refused)")
            }
        }
    }

    @Test func aReplayWhoseMessageIsGonePublishesAnew() async throws {
        try await TestGRPC.run { hammer, rest, store, _ in
            try await rest.createTopic("orders")
            let request = Hammer_V1_CreateMessageRequest.with { $0.message = .with { ($0.topicID, $0.data) = ("orders", "hello") } }
            let first = try await hammer.createMessage(request, metadata: ["idempotency-key": "k"])
            _ = try await hammer.deleteMessage(.with { $0.id = first.id })
            let again = try await hammer.createMessage(request, metadata: ["idempotency-key": "k"]) { response in
                (try response.message, response.metadata.firstString("idempotent-replayed"))
            }
            #expect(again.1 == nil && again.0.id != first.id)
            #expect(try await store.messages(ListFilter(limit: 10)).map(\.id) == [again.0.id])
        }
    }

    @Test func aRequestLargerThanTheMessageLimitIsResourceExhausted() async throws {
        try await TestGRPC.run(environment: ["HAMMER_MAX_MESSAGE_BYTES": "2000"]) { hammer, rest, store, _ in
            try await rest.createTopic("orders")
            let large = Hammer_V1_CreateMessageRequest.with {
                $0.message = .with { ($0.topicID, $0.data) = ("orders", String(repeating: "x", count: 4000)) }
            }
            let refused = try await rpcError { _ = try await hammer.createMessage(large) }
            #expect(refused.code == .resourceExhausted)
            #expect(refused.hammerError == "payload_too_large")
            #expect(try await store.messages(ListFilter(limit: 10)).isEmpty)
            let small = try await hammer.createMessage(.with { $0.message = .with { ($0.topicID, $0.data) = ("orders", "fits") } })
            #expect(small.topicID == "orders")
        }
    }

    @Test func apiKeysAreRequiredInMetadataButNotForHealthChecks() async throws {
        try await TestGRPC.run(environment: ["HAMMER_API_KEYS": "k1,k2"]) { hammer, rest, _, _ in
            let anonymous = try await rpcError { _ = try await hammer.listTopics(.init()) }
            #expect(anonymous.code == .unauthenticated)
            #expect(anonymous.hammerError == "unauthenticated")
            let wrong = try await rpcError { _ = try await hammer.listTopics(.init(), metadata: ["authorization": "Bearer k3"]) }
            #expect(wrong.code == .unauthenticated)
            let created = try await hammer.createTopic(
                .with { $0.topic = .with { ($0.id, $0.name) = ("orders", "Orders") } },
                metadata: ["authorization": "Bearer k2"]
            )
            #expect(created.id == "orders")
            #expect(try await hammer.listTopics(.init(), metadata: ["authorization": "bearer k1"]).topics.map(\.id) == ["orders"])
            // Every call is counted by method and code, the refused ones too.
            let metrics = try await rest.send(.get, "/metrics").text
            #expect(metrics.contains(#"hammer_grpc_requests_total{method="hammer.v1.Hammer/ListTopics",code="unauthenticated"} 2"#))
            #expect(metrics.contains(#"hammer_grpc_requests_total{method="hammer.v1.Hammer/CreateTopic",code="ok"} 1"#))
        }
    }

    @Test func healthAnswersForTheServerAndHammerAndNothingElse() async throws {
        try await TestGRPC.withClient(environment: ["HAMMER_API_KEYS": "k1"]) { client, _, _, _ in
            let health = Grpc_Health_V1_Health.Client(wrapping: client)
            #expect(try await health.check(.init()).status == .serving)
            #expect(try await health.check(.with { $0.service = "hammer.v1.Hammer" }).status == .serving)
            let unknown = try await rpcError { _ = try await health.check(.with { $0.service = "other.v1.Service" }) }
            #expect(unknown.code == .notFound)
            let first = try await health.watch(.with { $0.service = "hammer.v1.Hammer" }) { response in
                for try await message in response.messages { return message.status }
                return .unknown
            }
            #expect(first == .serving)
        }
    }
}
