import GRPCCore

/// Requires `authorization: Bearer <key>` metadata with one of `HAMMER_API_KEYS` when any are set, as REST requires
/// the header; health checks stay open, as `/readiness` does.
struct GRPCAuthInterceptor: ServerInterceptor {
    let keys: APIKeys

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if !keys.isEmpty, context.descriptor.service != GRPCHealthService.descriptor {
            guard keys.accept(request.metadata.firstString("authorization")) else { throw HammerError.unauthenticated }
        }
        return try await next(request, context)
    }
}
