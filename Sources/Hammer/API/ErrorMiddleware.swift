import HTTPTypes
import Hummingbird
import Logging

/// Turns every failure into hammer's JSON error body: domain errors as they say, routing errors as 404 or 405,
/// an unreachable database as 503, anything else as a bare 500 whose details go to the log only.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The router's routes, to tell a wrong method on a known path (405) from an unknown path (404).
    let routes: RouteTableBox

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let allowed = error.status == .notFound ? routes.methods(for: request.uri.path) : []
            guard !allowed.isEmpty else { return HammerError.from(error).response() }
            var response = HammerError(.methodNotAllowed, "method_not_allowed", "\(request.method) is not allowed on \(request.uri.path)").response()
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        } catch {
            switch OperationFailure(error) {
            case .answer(let error):
                return error.response()
            case .unavailable(let log):
                context.logger.error("database unavailable", metadata: ["error": "\(log)"])
                return HammerError.databaseUnavailable.response()
            case .unexpected(let log):
                context.logger.error("unexpected error", metadata: ["error": "\(log)"])
                return HammerError.internalError.response()
            }
        }
    }
}
