import Hummingbird
import NIOConcurrencyHelpers

/// Route templates (`/v1/topics/{id}`) and their methods, matched segment by segment.
struct RouteTable: Sendable {
    private let routes: [(segments: [Substring], methods: [String])]

    init(_ routes: [(path: String, method: String)]) {
        var byPath: [String: [String]] = [:]
        for route in routes { byPath[route.path, default: []].append(route.method) }
        self.routes = byPath.map { ($0.key.split(separator: "/"), $0.value.sorted()) }
    }

    /// The methods of the template matching `path`, the most literal one when several do (`/v1/messages/batch`
    /// before `/v1/messages/{id}`, as the router picks it); empty when none does.
    func methods(for path: String) -> [String] {
        let segments = path.split(separator: "/")
        var best: (literals: Int, methods: [String])?
        for route in routes where route.segments.count == segments.count {
            guard zip(route.segments, segments).allSatisfy({ template, actual in template.hasPrefix("{") || template == actual }) else { continue }
            let literals = route.segments.count { !$0.hasPrefix("{") }
            if literals > best?.literals ?? -1 { best = (literals, route.methods) }
        }
        return best?.methods ?? []
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
