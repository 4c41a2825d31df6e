import Foundation

/// A signed test event sent at once to a subscription, outside the queue: nothing is stored.
/// Used by `POST /v1/subscriptions/{id}/test` and `hammer subscriptions test ID`.
public struct SubscriptionTest: Sendable, Encodable {
    public var subscriptionID: String
    /// The `webhook-id` header (and CloudEvents id) the test event carried.
    public var webhookID: String
    public var url: String
    public var request: String
    public var response: String
    /// 0 when no response arrived.
    public var responseStatusCode: Int
    /// Milliseconds from sending until the response body was read.
    public var executionDuration: Int
    public var success: Bool
    public var error: String
    /// A bounded failure class (`http_status`, `timeout`, `connection_refused`, …); absent on success.
    public var errorKind: String?
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case url, request, response, success, error
        case subscriptionID = "subscription_id"
        case webhookID = "webhook_id"
        case responseStatusCode = "response_status_code"
        case executionDuration = "execution_duration"
        case errorKind = "error_kind"
        case createdAt = "created_at"
    }
}
