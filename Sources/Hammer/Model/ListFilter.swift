/// Pagination, `created_at` bounds and equality filters of a list request.
public struct ListFilter: Sendable {
    public var limit: Int
    public var offset: Int
    /// RFC 3339 UTC strings, compared as `timestamptz` by PostgreSQL.
    public var createdAtGT: String?
    public var createdAtGTE: String?
    public var createdAtLT: String?
    public var createdAtLTE: String?
    /// `column = value` conditions, e.g. `("topic_id", "orders")`.
    public var equals: [(column: String, value: String)] = []

    public init(limit: Int, offset: Int = 0) {
        self.limit = limit
        self.offset = offset
    }

    /// Up to `limit` rows whose `column` is `value`, oldest first: a delivery's attempts, a message's deliveries.
    public static func all(where column: String, equals value: String, limit: Int = 1000) -> ListFilter {
        var filter = ListFilter(limit: limit)
        filter.equals = [(column, value)]
        return filter
    }
}
