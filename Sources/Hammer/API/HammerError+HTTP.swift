import Foundation
import Hummingbird
import NIOCore

extension HammerError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch kind {
        case .invalidArgument: .badRequest
        case .unauthenticated: .unauthorized
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .alreadyExists, .failedPrecondition: .conflict
        case .unprocessable: .unprocessableContent
        case .payloadTooLarge: .contentTooLarge
        case .unavailable: .serviceUnavailable
        case .internalError: .internalServerError
        }
    }

    /// hammer's error body: `{"error", "code", "message", "details"?}`.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    func response() -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if kind == .unauthenticated { headers[.wwwAuthenticate] = "Bearer" }
        // Nothing was committed (see docs/api.md, "What a 503 means"): the client may retry, after a second.
        if kind == .unavailable { headers[.retryAfter] = "1" }
        let body = (try? JSONResponse.encoder().encode(ErrorBody(self))) ?? Data(#"{"error":"internal","code":13,"message":"internal error"}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The domain error for a Hummingbird routing or body error.
    static func from(_ error: HTTPError) -> HammerError {
        switch error.status {
        case .notFound: .notFound
        case .methodNotAllowed: HammerError(.notFound, "not_found", "no such route")
        case .contentTooLarge: HammerError(.payloadTooLarge, "payload_too_large", "request body is too large")
        case .badRequest: HammerError(.invalidArgument, "invalid_argument", error.body ?? "bad request")
        case .unauthorized: .unauthenticated
        default: .internalError
        }
    }
}

private struct ErrorBody: Encodable {
    let error: String
    let code: Int
    let message: String
    let details: [HammerError.FieldError]?

    init(_ error: HammerError) {
        self.error = error.error
        self.code = error.grpcCode
        self.message = error.message
        self.details = error.details
    }
}
