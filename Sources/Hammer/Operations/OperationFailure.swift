/// What a front end answers for an error an operation threw, so that REST and gRPC classify failures alike.
enum OperationFailure {
    /// A domain error, or an input error the database found (a NUL in a path or query id).
    case answer(HammerError)
    /// PostgreSQL cannot be reached or is going away: answered as unavailable, logged with `log`.
    case unavailable(log: String)
    /// Anything else: answered as a bare internal error whose details, `log`, go to the log only.
    case unexpected(log: String)

    init(_ error: any Error) {
        if let error = error as? HammerError {
            self = .answer(error)
        } else if PostgresErrorMapping.isUnavailable(error) {
            self = .unavailable(log: PostgresErrorMapping.logDescription(error))
        } else if let inputError = PostgresErrorMapping.inputError(error) {
            self = .answer(inputError)
        } else {
            self = .unexpected(log: PostgresErrorMapping.logDescription(error))
        }
    }
}
