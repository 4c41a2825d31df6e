import Crypto
import Foundation
import Hummingbird

/// Requires `Authorization: Bearer <key>` with one of `HAMMER_API_KEYS`; keys compared in constant time.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    private let keyDigests: [SHA256.Digest]

    init(keys: [String]) {
        self.keyDigests = keys.map { SHA256.hash(data: Data($0.utf8)) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw HammerError.unauthenticated
        }
        let candidate = SHA256.hash(data: Data(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8))
        // Compare against every key so the time taken does not reveal which one matched.
        var matched = false
        for digest in keyDigests where digest == candidate { matched = true }
        guard matched else { throw HammerError.unauthenticated }
        return try await next(request, context)
    }
}
