import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// Turns every failure into hammer's JSON error body, logs the request, and tags it with a request id.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: HammerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HammerError {
            response = error.response()
        } catch let error as HTTPError {
            response = HammerError.from(error).response()
        } catch where Self.isDatabaseUnavailable(error) {
            context.logger.error("database unavailable", metadata: ["error": "\(String(reflecting: error))"])
            response = HammerError.databaseUnavailable.response()
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))"])
            response = HammerError.internalError.response()
        }
        response.headers[.requestID] = context.id
        let elapsed = ContinuousClock.now - started
        metrics.request(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: Int(response.status.code), duration: elapsed)
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        context.logger.log(
            level: response.status.code >= 500 ? .error : .info,
            "request",
            metadata: [
                "http.method": "\(request.method)",
                "http.path": "\(request.uri.path)",
                "http.status": "\(response.status.code)",
                "http.duration_ms": "\(Int(milliseconds.rounded()))",
            ])
        return response
    }
}

extension ErrorMiddleware {
    /// Connection failures, not query errors: the pool could not reach PostgreSQL.
    static func isDatabaseUnavailable(_ error: any Error) -> Bool {
        if let error = error as? PSQLError { return error.code != .server }
        // The pool's error type is not public API; its name is the only handle on it.
        return String(reflecting: type(of: error)).contains("ConnectionPoolError")
    }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
}
