import Foundation
import Hummingbird

/// `/ui`: the web console, server-rendered HTML over the same operations and list queries as the REST API. With API keys set, pages need a session from `/ui/login`; every POST needs the CSRF token.
struct ConsoleController {
    let operations: ResourceOperations
    /// `nil` when no API keys are set: the console is open, like the API.
    let session: ConsoleSession?
    /// `Secure` on every cookie (`HAMMER_CONSOLE_SECURE_COOKIES`), not only over https.
    let secureCookies: Bool
    let pages = ConsolePages()

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("ui/console.css") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(bytes: ConsolePages.stylesheet))
            )
        }
        router.get("ui/login", use: loginForm)
        router.post("ui/login", use: login)
        router.post("ui/logout", use: logout)
        let ui = router.group("ui").add(middleware: ConsoleAccessMiddleware(session: session))
        ui.get(use: overview)
        ui.get("topics", use: topics)
        ui.get("subscriptions", use: subscriptions)
        ui.post("subscriptions/:id/:action", use: changeSubscription)
        ui.get("messages", use: messages)
        ui.get("messages/:id", use: message)
        ui.get("deliveries", use: deliveries)
        ui.get("deliveries/:id", use: delivery)
        ui.post("deliveries/:id/redeliver", use: redeliver)
    }

    @Sendable func overview(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await page(request, "overview", title: "Overview", nav: "overview") {
            let overview = try await operations.status.overview()
            return [
                "pending": overview.pending, "completed": Self.count(overview.completed), "failed": Self.count(overview.failed),
                "oldestPending": Self.age(overview.oldestPendingAge),
                "chart": DeliveryChart.svg(overview.minutes),
                "failing": overview.failingSubscriptions.map(Self.health), "hasFailing": !overview.failingSubscriptions.isEmpty,
            ]
        }
    }

    @Sendable func topics(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await page(request, "topics", title: "Topics", nav: "topics") {
            let filter = try filter(request)
            let topics = try await operations.topics.topics(filter)
            return [
                "topics": topics.map { ["id": $0.id, "name": $0.name, "createdAt": Timestamp.format($0.createdAt)] },
                "paging": Self.paging(request, filter, count: topics.count),
            ]
        }
    }

    @Sendable func subscriptions(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await page(request, "subscriptions", title: "Subscriptions", nav: "subscriptions") {
            let filter = try filter(request, SubscriptionOperations.listFilters)
            let subscriptions = try await operations.subscriptions.subscriptions(filter)
            let health = try await operations.subscriptions.health(ids: subscriptions.map(\.id))
            let rows: [[String: Any]] = subscriptions.map { subscription in
                var row = health[subscription.id].map(Self.health) ?? [:]
                row["name"] = subscription.name
                row["topicID"] = subscription.topicID
                row["url"] = URLRedaction.redacted(subscription.url)
                row["action"] = subscription.status == .active ? "disable" : "enable"
                return row
            }
            return [
                "subscriptions": rows, "topicID": request.uri.queryParameters["topic_id"].map(String.init) ?? "",
                "paging": Self.paging(request, filter, count: subscriptions.count),
            ]
        }
    }

    /// `disable` or `enable`, as `POST /v1/subscriptions/{id}/disable|enable`; back to the list.
    @Sendable func changeSubscription(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await action(request) {
            let id = try context.parameters.require("id")
            switch context.parameters.get("action") {
            case "disable": _ = try await operations.subscriptions.disable(id: id)
            case "enable": _ = try await operations.subscriptions.enable(id: id)
            default: throw HammerError.notFound
            }
            return "/ui/subscriptions#subscription-\(id)"
        }
    }

    @Sendable func messages(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await page(request, "messages", title: "Messages", nav: "messages") {
            let filter = try filter(request, MessageOperations.listFilters)
            let messages = try await operations.messages.messages(filter)
            return [
                "messages": messages.map(Self.message), "topicID": request.uri.queryParameters["topic_id"].map(String.init) ?? "",
                "paging": Self.paging(request, filter, count: messages.count),
            ]
        }
    }

    @Sendable func message(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await page(request, "message", title: "Message", nav: "messages") {
            let message = try await operations.messages.message(id: try context.parameters.require("id"))
            let text = Data(base64Encoded: message.data).map { String(decoding: $0, as: UTF8.self) } ?? message.data
            return [
                "message": Self.message(message), "data": HTTPDump.prettyJSON(text) ?? text,
                "deliveries": try await operations.deliveries.deliveries(.all(where: "message_id", equals: message.id)).map(Self.delivery),
            ]
        }
    }

    @Sendable func deliveries(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await page(request, "deliveries", title: "Deliveries", nav: "deliveries") {
            let parameters = request.uri.queryParameters
            let shown = ["topic_id", "subscription_id", "message_id", "status", "created_at_gte", "created_at_lt"]
            let filters = Dictionary(uniqueKeysWithValues: shown.map { ($0, parameters[$0[...]].map(String.init) ?? "") })
            var view: [String: Any] = [
                "filters": filters,
                "statuses": Delivery.Status.allCases.map { ["name": $0.rawValue, "selected": filters["status"] == $0.rawValue] },
            ]
            do {
                let filter = try filter(request, DeliveryOperations.listFilters)
                let deliveries = try await operations.deliveries.deliveries(filter)
                view["deliveries"] = deliveries.map(Self.delivery)
                view["paging"] = Self.paging(request, filter, count: deliveries.count)
            } catch let error as HammerError where error.kind == .invalidArgument {
                view["problems"] = (error.details ?? []).map { "\($0.field) \($0.description)" }
            }
            return view
        }
    }

    /// Attempts one delivery page shows, and the characters of each dump it shows: one page shows at most 10 times
    /// 2 × 64 Ki characters, however large the stored dumps are.
    static let attemptsPerPage = 10
    static let maxDumpCharacters = 65_536

    @Sendable func delivery(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await page(request, "delivery", title: "Delivery", nav: "deliveries") {
            let delivery = try await operations.deliveries.delivery(id: try context.parameters.require("id"))
            var filter = ListFilter.all(where: "delivery_id", equals: delivery.id, limit: Self.attemptsPerPage)
            filter.offset = max(0, request.uri.queryParameters.get("offset", as: Int.self) ?? 0)
            let attempts = try await operations.deliveries.attempts(filter, maxDumpCharacters: Self.maxDumpCharacters)
            return [
                "delivery": Self.delivery(delivery),
                "attempts": attempts.enumerated().map { index, cut in
                    let attempt = cut.attempt
                    return [
                        "id": attempt.id, "number": filter.offset + index + 1, "createdAt": Timestamp.format(attempt.createdAt),
                        "duration": attempt.executionDuration, "success": attempt.success,
                        "status": attempt.responseStatusCode > 0 ? "\(attempt.responseStatusCode)" : "no response",
                        "error": attempt.error, "errorKind": attempt.errorKind,
                        "request": HTTPDump(attempt.request).context, "response": HTTPDump(attempt.response).context,
                        // More bytes stored than characters shown: it may have been cut (a cut dump always says so).
                        "cut": cut.requestBytes > Self.maxDumpCharacters || cut.responseBytes > Self.maxDumpCharacters,
                        "shown": Self.maxDumpCharacters,
                    ] as [String: Any]
                },
                "paging": Self.paging(request, filter, count: attempts.count),
            ]
        }
    }

    /// As `POST /v1/deliveries/{id}/redeliver`; back to the delivery.
    @Sendable func redeliver(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await action(request) {
            let delivery = try await operations.deliveries.redeliver(id: try context.parameters.require("id"))
            return "/ui/deliveries/\(delivery.id)"
        }
    }

    /// A page's list filter from its query string, checked as the REST API checks it.
    private func filter(_ request: Request, _ filters: [String] = []) throws -> ListFilter {
        let parameters = request.uri.queryParameters
        return try operations.listQuery.filter(filters: filters) { parameters.get($0) }
    }
}
