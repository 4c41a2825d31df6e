import GRPCCore
import Logging

/// Turns every failure of a handler into a `HammerError`, as `ErrorMiddleware` does for REST: an unreachable database
/// into `unavailable`, anything else into a bare `internal` whose details go to the log only. It must be the last
/// interceptor: grpc-swift turns what an interceptor throws into a response before the ones outside it see it.
struct GRPCErrorInterceptor: ServerInterceptor {
    let logger: Logger

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        do {
            return try await next(request, context)
        } catch  where error is HammerError || error is RPCError {
            throw error
        } catch {
            switch OperationFailure(error) {
            case .answer(let error):
                throw error
            case .unavailable(let log):
                logger.error("database unavailable", metadata: ["error": "\(log)", "hammer.grpc.method": "\(context.descriptor)"])
                throw HammerError.databaseUnavailable
            case .unexpected(let log):
                logger.error("unexpected error", metadata: ["error": "\(log)", "hammer.grpc.method": "\(context.descriptor)"])
                throw HammerError.internalError
            }
        }
    }
}
