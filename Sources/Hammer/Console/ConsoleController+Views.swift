import Foundation
import Hummingbird

/// The values the templates show, formatted for reading.
extension ConsoleController {
    static func delivery(_ delivery: Delivery) -> [String: Any] {
        let pending = delivery.status == .pending
        return [
            "id": delivery.id, "subscriptionID": delivery.subscriptionID, "messageID": delivery.messageID,
            "status": delivery.status.rawValue, "pending": pending, "eventType": delivery.eventType ?? "",
            "eventTypeNote": delivery.eventType.map { " (\($0))" } ?? "",
            "attempts": delivery.deliveryAttempts, "maxAttempts": delivery.maxDeliveryAttempts,
            "timeout": delivery.deliveryAttemptTimeout, "delay": delivery.deliveryAttemptDelay, "url": URLRedaction.redacted(delivery.url),
            "createdAt": Timestamp.format(delivery.createdAt),
            "when": Timestamp.format(pending ? delivery.scheduledAt : delivery.updatedAt),
        ]
    }

    static func message(_ message: Message) -> [String: Any] {
        [
            "id": message.id, "topicID": message.topicID, "eventType": message.eventType ?? "", "contentType": message.contentType,
            "createdAt": Timestamp.format(message.createdAt),
        ]
    }

    static func health(_ health: SubscriptionHealth) -> [String: Any] {
        let rate =
            health.recentAttempted == 0
            ? "no attempts yet"
            : "\(health.recentFailing) of the last \(health.recentAttempted) (\(health.recentFailing * 100 / health.recentAttempted)%)"
        return [
            "id": health.subscriptionID, "status": health.status.rawValue, "reason": health.disabledReason ?? "",
            "failingSince": health.failingSince.map(Timestamp.format) ?? "", "lastSuccess": health.lastSuccessAt.map(Timestamp.format) ?? "never",
            "failureRate": rate,
        ]
    }

    /// A count from `deliveryOverview`: `10000+` at the limit.
    static func count(_ value: Int) -> String {
        value >= DeliveryOverview.countLimit ? "\(value)+" : "\(value)"
    }

    /// `42 s`, `5 min`, `3 h 20 min`, `2 d 4 h`.
    static func age(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        switch total {
        case ..<60: return "\(max(total, 0)) s"
        case ..<3600: return "\(total / 60) min"
        case ..<86400: return "\(total / 3600) h \(total / 60 % 60) min"
        default: return "\(total / 86400) d \(total / 3600 % 24) h"
        }
    }

    /// Links to the previous and next page of a list, keeping its other query parameters.
    static func paging(_ request: Request, _ filter: ListFilter, count: Int) -> [String: Any] {
        func link(offset: Int) -> String {
            var components = URLComponents()
            components.path = request.uri.path
            var items = request.uri.queryParameters.filter { $0.key != "offset" && !$0.value.isEmpty }
                .map { URLQueryItem(name: String($0.key), value: String($0.value)) }
                .sorted { $0.name < $1.name }
            if offset > 0 { items.append(URLQueryItem(name: "offset", value: String(offset))) }
            components.queryItems = items.isEmpty ? nil : items
            return components.string ?? request.uri.path
        }
        var paging: [String: Any] = ["range": count == 0 ? "" : "\(filter.offset + 1)–\(filter.offset + count)"]
        if filter.offset > 0 { paging["previous"] = link(offset: max(0, filter.offset - filter.limit)) }
        if count == filter.limit { paging["next"] = link(offset: filter.offset + filter.limit) }
        return paging
    }
}
