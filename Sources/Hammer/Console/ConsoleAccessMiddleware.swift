import Hummingbird

/// With API keys set, console pages need a valid session cookie: without one, the browser goes to `/ui/login`.
struct ConsoleAccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let session: ConsoleSession?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let session, !session.isValid(request.cookies[ConsoleSession.cookieName]?.value) {
            return Response(status: .seeOther, headers: [.location: "/ui/login"])
        }
        return try await next(request, context)
    }
}
