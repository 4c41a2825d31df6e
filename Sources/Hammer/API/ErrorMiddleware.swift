import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers

/// Turns every failure into hammer's JSON error body, logs the request, and tags it with a request id.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: HammerMetrics
    /// The router's routes, to tell a wrong method on a known path (405) from an unknown path (404).
    let routes: RouteTableBox

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HammerError {
            response = error.response()
        } catch let error as HTTPError {
            let allowed = error.status == .notFound ? routes.methods(for: request.uri.path) : []
            if allowed.isEmpty {
                response = HammerError.from(error).response()
            } else {
                response = HammerError(.methodNotAllowed, "method_not_allowed", "\(request.method) is not allowed on \(request.uri.path)").response()
                response.headers[.allow] = allowed.joined(separator: ", ")
            }
        } catch where PostgresErrorMapping.isUnavailable(error) {
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

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
}

/// Route templates (`/v1/topics/{id}`) and their methods, matched segment by segment.
struct RouteTable: Sendable {
    private let routes: [(segments: [Substring], methods: [String])]

    init(_ routes: [(path: String, method: String)]) {
        var byPath: [String: [String]] = [:]
        for route in routes { byPath[route.path, default: []].append(route.method) }
        self.routes = byPath.map { ($0.key.split(separator: "/"), $0.value.sorted()) }
    }

    /// The methods of the template matching `path`; empty when none does.
    func methods(for path: String) -> [String] {
        let segments = path.split(separator: "/")
        for route in routes where route.segments.count == segments.count {
            if zip(route.segments, segments).allSatisfy({ template, actual in template.hasPrefix("{") || template == actual }) {
                return route.methods
            }
        }
        return []
    }
}

/// The route table, filled in once the router has its routes (the middleware is added first).
final class RouteTableBox: Sendable {
    private let table = NIOLockedValueBox(RouteTable([]))

    func set(_ router: Router<some RequestContext>) {
        let table = RouteTable(router.routes.map { (path: "\($0.path)", method: $0.method.rawValue) })
        self.table.withLockedValue { $0 = table }
    }

    func methods(for path: String) -> [String] { table.withLockedValue { $0 }.methods(for: path) }
}
