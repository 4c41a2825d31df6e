import HTTPTypes
import Hummingbird
import Logging

/// Tags every response with its request id (`X-Request-Id`) and writes one log line per request.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[.requestID] = context.id
        let elapsed = ContinuousClock.now - started
        context.logger.log(
            level: response.status.code >= 500 ? .error : .info,
            "request",
            metadata: [
                "http.method": "\(request.method)",
                "http.path": "\(request.uri.path)",
                "http.status": "\(response.status.code)",
                "http.duration_ms": "\(Int((elapsed.inSeconds * 1000).rounded()))",
            ]
        )
        return response
    }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
}
