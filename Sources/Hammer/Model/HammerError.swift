/// A domain error with hammer's wire code; `API/HammerError+HTTP.swift` maps it to a response.
public struct HammerError: Error, Equatable, Sendable {
    public enum Kind: Sendable, Equatable {
        case invalidArgument
        case unauthenticated
        case notFound
        case methodNotAllowed
        case alreadyExists
        /// The resource is in a state that does not allow the operation (409).
        case failedPrecondition
        /// Well-formed, but it contradicts what was asked before (422): an idempotency key reused for another request.
        case unprocessable
        case payloadTooLarge
        case unavailable
        case internalError
    }

    /// One bad input field and what is wrong with it.
    public struct FieldError: Equatable, Sendable, Encodable {
        public var field: String
        public var description: String
        public init(_ field: String, _ description: String) {
            self.field = field
            self.description = description
        }
    }

    public var kind: Kind
    /// snake_case error code, e.g. `topic_does_not_exists`.
    public var error: String
    public var message: String
    public var details: [FieldError]?

    public init(_ kind: Kind, _ error: String, _ message: String, details: [FieldError]? = nil) {
        self.kind = kind
        self.error = error
        self.message = message
        self.details = details
    }

    /// The gRPC status code hammer sends in its error bodies.
    public var grpcCode: Int {
        switch kind {
        case .invalidArgument: 3
        case .unauthenticated: 16
        case .notFound: 5
        case .methodNotAllowed: 12
        case .alreadyExists: 6
        case .failedPrecondition: 9
        case .unprocessable: 3
        case .payloadTooLarge: 8
        case .unavailable: 14
        case .internalError: 13
        }
    }
}

extension HammerError {
    static func invalid(_ resource: String, _ details: [FieldError]) -> HammerError {
        let fields = details.map(\.field).joined(separator: ", ")
        return HammerError(.invalidArgument, "invalid_\(resource)", "invalid \(resource): \(fields)", details: details)
    }

    static func doesNotExist(_ resource: String, id: String) -> HammerError {
        let label = resource.replacingOccurrences(of: "_", with: " ")
        return HammerError(.notFound, "\(resource)_does_not_exists", "\(label) \"\(id)\" does not exist")
    }

    static func alreadyExists(_ resource: String, id: String) -> HammerError {
        HammerError(.alreadyExists, "\(resource)_already_exists", "\(resource) \"\(id)\" already exists")
    }

    static let idempotencyKeyMismatch = HammerError(
        .unprocessable,
        "idempotency_key_mismatch",
        "this Idempotency-Key was used for a different request; use a new key for a new request"
    )
    static let idempotencyKeyInUse = HammerError(
        .failedPrecondition,
        "idempotency_key_in_use",
        "a request with this Idempotency-Key is still being processed; retry after it has been answered"
    )

    static let internalError = HammerError(.internalError, "internal", "internal error")
    static let databaseUnavailable = HammerError(.unavailable, "unavailable", "the database is unavailable, try again shortly")
    static let publishQueueFull = HammerError(.unavailable, "unavailable", "too many publishes are waiting to be written, try again shortly")
    static let unauthenticated = HammerError(.unauthenticated, "unauthenticated", "a valid Authorization: Bearer <key> header is required")
    static let notFound = HammerError(.notFound, "not_found", "no such route")

    static func payloadTooLarge(limit: Int) -> HammerError {
        HammerError(.payloadTooLarge, "payload_too_large", "request body is larger than \(limit) bytes")
    }
}

extension HammerError: CustomStringConvertible {
    /// The message, as the CLI prints it: `subscription "x" does not exist`.
    public var description: String { message }
}
