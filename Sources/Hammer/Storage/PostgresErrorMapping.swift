import PostgresNIO

/// Maps PostgreSQL failures to domain errors by SQLSTATE and constraint name, never by message text.
enum PostgresErrorMapping {
    static let uniqueViolation = "23505"
    static let foreignKeyViolation = "23503"
    static let checkViolation = "23514"
    static let lockNotAvailable = "55P03"

    /// The domain error for `error`, or `error` itself when it is not one we know.
    static func map(_ error: any Error, resource: String, id: String, topicID: String? = nil) -> any Error {
        guard let psql = error as? PSQLError else { return error }
        guard psql.code == .server, let info = psql.serverInfo else { return error }
        switch info[.sqlState] {
        case uniqueViolation?:
            return HammerError.alreadyExists(resource, id: id)
        case foreignKeyViolation? where info[.constraintName]?.hasSuffix("_topic_id_fkey") == true:
            return HammerError.doesNotExist("topic", id: topicID ?? "")
        default:
            return error
        }
    }

    /// The input error a server error stands for when the request's own text caused it: a NUL character (SQLSTATE
    /// 22021, which PostgreSQL text cannot hold) in an id of a path, a query or a gRPC request.
    static func inputError(_ error: any Error) -> HammerError? {
        guard sqlState(error) == "22021" else { return nil }
        return HammerError(.invalidArgument, "invalid_argument", "text in the request must not contain a NUL (U+0000) character")
    }

    /// `error` for the log. A server error's `detail` and `where` can quote a failing row (a subscription's secret,
    /// auth or headers), so only its SQLSTATE, message, constraint and hint are kept.
    static func logDescription(_ error: any Error) -> String {
        guard let psql = error as? PSQLError, psql.code == .server, let info = psql.serverInfo else { return String(reflecting: error) }
        let fields: [(String, String?)] = [
            ("sqlState", info[.sqlState]), ("message", info[.message]), ("table", info[.tableName]),
            ("constraint", info[.constraintName]), ("hint", info[.hint]),
        ]
        return "PSQLError(" + fields.compactMap { name, value in value.map { "\(name): \($0)" } }.joined(separator: ", ") + ")"
    }

    /// True when an insert found no partition for its id (a check violation that names no constraint): the
    /// partitions ahead ran out, as they do when no worker made new ones for two intervals.
    static func isMissingPartition(_ error: any Error) -> Bool {
        guard let psql = error as? PSQLError, psql.code == .server, let info = psql.serverInfo else { return false }
        return info[.sqlState] == checkViolation && info[.constraintName] == nil
    }

    /// True for a deadlock or serialization failure (SQLSTATE 40P01, 40001): the statement was rolled back because of
    /// other transactions, not for what it holds, and succeeds when run again.
    static func isConflict(_ error: any Error) -> Bool {
        ["40P01", "40001"].contains(sqlState(error) ?? "")
    }

    /// True when the server refused the statement for what it holds (a server error that is not about reaching it).
    static func isRefusedStatement(_ error: any Error) -> Bool {
        guard let psql = error as? PSQLError, psql.code == .server else { return false }
        return !isUnavailable(error)
    }

    /// The SQLSTATE of a server error, if `error` is one.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// True when `error` says PostgreSQL cannot be reached or is going away, not that the query was wrong:
    /// connection failures, the pool's own errors, and server errors of SQLSTATE classes 08 (connection exception),
    /// 53 (insufficient resources, e.g. too many connections) and 57 (operator intervention, e.g. a shutdown).
    static func isUnavailable(_ error: any Error) -> Bool {
        if let error = error as? PSQLError {
            guard error.code == .server else { return true }
            guard let state = error.serverInfo?[.sqlState] else { return false }
            return ["08", "53", "57"].contains(String(state.prefix(2)))
        }
        // The pool's error type is not public API; its name is the only handle on it.
        return String(reflecting: type(of: error)).contains("ConnectionPoolError")
    }
}
