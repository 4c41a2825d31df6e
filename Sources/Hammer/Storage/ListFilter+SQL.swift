import PostgresNIO

extension ListFilter {
    /// `SELECT <columns> FROM <from> WHERE … ORDER BY created_at, id LIMIT … OFFSET …`;
    /// `alias` qualifies the filtered table's columns when `from` joins others. `timeAlias` qualifies `created_at`
    /// instead (bounds and order), and `qualified` names some equality columns in full: for a list read through
    /// another table's index (joined on id and created_at) in the same order.
    func query(
        select columns: String,
        from: String,
        alias: String? = nil,
        timeAlias: String? = nil,
        qualified: [String: String] = [:]
    ) -> PostgresQuery {
        let prefix = alias.map { "\($0)." } ?? ""
        let timePrefix = timeAlias.map { "\($0)." } ?? prefix
        var bindings = PostgresBindings()
        var conditions: [String] = []
        for (column, value) in equals {
            bindings.append(value)
            conditions.append("\(qualified[column] ?? prefix + column) = $\(bindings.count)")
        }
        let bounds: [(String?, String)] = [(createdAtGT, ">"), (createdAtGTE, ">="), (createdAtLT, "<"), (createdAtLTE, "<=")]
        for case let (value?, comparison) in bounds {
            bindings.append(value)
            conditions.append("\(timePrefix)created_at \(comparison) $\(bindings.count)::timestamptz")
        }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        bindings.append(limit)
        bindings.append(offset)
        let sql =
            "SELECT \(columns) FROM \(from)\(whereClause) ORDER BY \(timePrefix)created_at, \(prefix)id LIMIT $\(bindings.count - 1) OFFSET $\(bindings.count)"
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }
}
