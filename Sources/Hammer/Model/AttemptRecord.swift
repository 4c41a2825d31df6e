import Foundation

/// One HTTP attempt, as deliveries, callbacks and test events record it: what was sent and what came back.
public struct AttemptRecord: Sendable, Equatable {
    /// How a resource shows `error_kind`: always (empty on success), only when set, or not at all.
    enum ErrorKindField { case always, whenSet, never }

    public var request: String
    public var response: String
    /// 0 when no response arrived.
    public var responseStatusCode: Int
    /// Milliseconds from sending until the response body was read.
    public var executionDuration: Int
    public var success: Bool
    public var error: String
    /// The failure's bounded kind (`timeout`, `http_status`, …); empty on success.
    public var errorKind: String
    public var createdAt: Date

    public init(
        request: String,
        response: String,
        responseStatusCode: Int,
        executionDuration: Int,
        success: Bool,
        error: String,
        errorKind: String,
        createdAt: Date
    ) {
        self.request = request
        self.response = response
        self.responseStatusCode = responseStatusCode
        self.executionDuration = executionDuration
        self.success = success
        self.error = error
        self.errorKind = errorKind
        self.createdAt = createdAt
    }

    private enum CodingKeys: String, CodingKey {
        case request, response, success, error
        case responseStatusCode = "response_status_code"
        case executionDuration = "execution_duration"
        case errorKind = "error_kind"
        case createdAt = "created_at"
    }

    /// Writes the record's fields beside those of the resource that holds it, into the same object.
    func encode(to encoder: any Encoder, errorKind field: ErrorKindField) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(request, forKey: .request)
        try container.encode(response, forKey: .response)
        try container.encode(responseStatusCode, forKey: .responseStatusCode)
        try container.encode(executionDuration, forKey: .executionDuration)
        try container.encode(success, forKey: .success)
        try container.encode(error, forKey: .error)
        switch field {
        case .always: try container.encode(errorKind, forKey: .errorKind)
        case .whenSet where !errorKind.isEmpty: try container.encode(errorKind, forKey: .errorKind)
        case .whenSet, .never: break
        }
        try container.encode(createdAt, forKey: .createdAt)
    }
}
