/// What one HTTP attempt produced, ready to be recorded.
public struct AttemptResult: Sendable {
    /// A bounded failure class, usable as a metric label.
    public enum ErrorKind: String, Sendable {
        case httpStatus = "http_status"
        case timeout
        case connectionRefused = "connection_refused"
        case connectionReset = "connection_reset"
        case dns
        case tls
        case invalidResponse = "invalid_response"
        case invalidURL = "invalid_url"
        /// The URL resolves to a private address and HAMMER_ALLOW_PRIVATE_TARGETS is false.
        case blockedTarget = "blocked_target"
        /// The rendered body would be longer than the sender's cap on request bodies; nothing was sent.
        case payloadTooLarge = "payload_too_large"
        case cancelled
        case other
    }

    public var delivery: ClaimedDelivery
    public var attemptID: String
    /// The request as the attempt record keeps it (credentials redacted): whole, or without the body when
    /// `recordedBody` says the message and delivery determine it.
    public var request: String
    public var recordedBody = RecordedBody.stored
    public var response: String
    /// 0 when no response arrived.
    public var statusCode: Int
    public var durationMilliseconds: Int
    public var success: Bool
    public var error: String
    public var errorKind: ErrorKind?
    /// From a `Retry-After` header on 429/503.
    public var retryAfter: Duration?

    public init(
        delivery: ClaimedDelivery,
        attemptID: String,
        request: String,
        response: String,
        statusCode: Int,
        durationMilliseconds: Int,
        success: Bool,
        error: String,
        errorKind: ErrorKind? = nil,
        retryAfter: Duration? = nil
    ) {
        self.delivery = delivery
        self.attemptID = attemptID
        self.request = request
        self.response = response
        self.statusCode = statusCode
        self.durationMilliseconds = durationMilliseconds
        self.success = success
        self.error = error
        self.errorKind = errorKind
        self.retryAfter = retryAfter
    }
}
