import Foundation

/// The record of one HTTP attempt at a delivery: what was sent and what came back.
public struct DeliveryAttempt: Sendable, Equatable, Encodable {
    public var id: String
    public var deliveryID: String
    public var request: String
    public var response: String
    public var responseStatusCode: Int
    /// Milliseconds from sending until the response body was read.
    public var executionDuration: Int
    public var success: Bool
    public var error: String
    /// The failure's bounded kind (`timeout`, `http_status`, …); empty on success.
    public var errorKind: String
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, request, response, success, error
        case deliveryID = "delivery_id"
        case errorKind = "error_kind"
        case responseStatusCode = "response_status_code"
        case executionDuration = "execution_duration"
        case createdAt = "created_at"
    }
}
