import Hummingbird

/// `/liveness` (the process answers) and `/readiness` (the database answers): 204 or 503.
struct HealthController {
    let store: Store

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("liveness") { _, _ in Response(status: .noContent) }
        router.get("readiness") { _, _ in
            guard await store.ping() else {
                throw HammerError(.unavailable, "unavailable", "the database is not reachable")
            }
            return Response(status: .noContent)
        }
    }
}
