import PostgresNIO

/// Maps PostgreSQL failures to domain errors by SQLSTATE and constraint name, never by message text.
enum PostgresErrorMapping {
    static let uniqueViolation = "23505"
    static let foreignKeyViolation = "23503"

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
}
