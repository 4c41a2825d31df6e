import Hummingbird
import NIOCore

/// `/liveness` (the process answers) and `/readiness` (the database answers): 204 or 503; `/metrics` for Prometheus;
/// `/openapi.json`, the API's OpenAPI 3.1 document.
struct HealthController {
    let status: StatusOperations
    let metrics: HammerMetrics

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("liveness") { _, _ in Response(status: .noContent) }
        router.get("readiness") { _, _ in
            guard await status.isDatabaseReachable() else {
                throw HammerError(.unavailable, "unavailable", "the database is not reachable")
            }
            return Response(status: .noContent)
        }
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_json))
            )
        }
        router.get("metrics") { _, _ in
            let body = await metrics.render(gauges: status.queueGauges)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }
    }
}
