import GRPCCore
import Logging

/// One log line and the `hammer_grpc_requests_total` / `hammer_grpc_request_duration_seconds` series per RPC, as
/// `RequestLogMiddleware` and `RequestMetricsMiddleware` do for REST. The first interceptor: it sees every outcome,
/// a refused key included, as the response the inner ones made of it.
struct GRPCRequestInterceptor: ServerInterceptor {
    let metrics: HammerMetrics
    let logger: Logger

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        let code: RPCError.Code? =
            switch response.accepted {
            case .success: nil
            case .failure(let error): error.code
            }
        let method = "\(context.descriptor.service.fullyQualifiedService)/\(context.descriptor.method)"
        let codeName = code.map { "\($0)" } ?? "ok"
        metrics.rpc(method: method, code: codeName, duration: elapsed)
        let failed = code == .internalError || code == .unknown || code == .dataLoss
        logger.log(
            level: failed ? .error : .info,
            "rpc",
            metadata: [
                "grpc.method": "\(method)", "grpc.code": "\(codeName)", "grpc.peer": "\(context.remotePeer)",
                "grpc.duration_ms": "\(Int((elapsed.inSeconds * 1000).rounded()))",
            ]
        )
        return response
    }
}
