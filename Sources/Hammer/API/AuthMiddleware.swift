import Hummingbird

/// Requires `Authorization: Bearer <key>` with one of `HAMMER_API_KEYS`.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: APIKeys

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard keys.accept(request.headers[.authorization]) else { throw HammerError.unauthenticated }
        return try await next(request, context)
    }
}
