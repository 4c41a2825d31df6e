/// Checks a list request's parameters (`limit`, `offset`, `created_at_*`, equality filters) into a `ListFilter`, as
/// REST's query string, gRPC's list requests and the console's pages give them.
struct ListQuery: Sendable {
    let defaultLimit: Int
    let maxLimit: Int

    /// `value` gives each parameter's text (`nil` or empty when absent); `filters` names the equality filters this
    /// resource accepts; `status` values are checked against `Delivery.Status`, `type` against `Callback.EventType`.
    func filter(filters: [String] = [], _ parameter: (String) -> String?) throws -> ListFilter {
        func value(_ name: String) -> String? {
            guard let raw = parameter(name), !raw.isEmpty else { return nil }
            return raw
        }
        var errors: [HammerError.FieldError] = []
        var filter = ListFilter(limit: defaultLimit)
        if let raw = value("limit") {
            // Any positive integer is a valid limit, however large: it is clamped.
            if raw.utf8.allSatisfy({ (48...57).contains($0) }), raw.utf8.contains(where: { $0 != 48 }) {
                filter.limit = min(Int(raw) ?? maxLimit, maxLimit)
            } else {
                errors.append(.init("limit", "must be a positive integer (at most \(maxLimit) are returned), got \"\(raw)\""))
            }
        }
        if let raw = value("offset") {
            if let offset = Int(raw), offset >= 0, offset <= Int(Int32.max) {
                filter.offset = offset
            } else {
                errors.append(.init("offset", "must be an integer from 0 to \(Int32.max), got \"\(raw)\""))
            }
        }
        let bounds: [(String, WritableKeyPath<ListFilter, String?>)] = [
            ("created_at_gt", \.createdAtGT), ("created_at_gte", \.createdAtGTE),
            ("created_at_lt", \.createdAtLT), ("created_at_lte", \.createdAtLTE),
        ]
        for (name, keyPath) in bounds {
            guard let raw = value(name) else { continue }
            // Bound in UTC: PostgreSQL rejects offsets beyond ±15:59 that RFC 3339 allows, and the offset may move
            // the instant out of years 1–9999 (to 1 BC or to 10000), which PostgreSQL holds but ISO text cannot say.
            if let parsed = Timestamp.parse(raw) {
                filter[keyPath: keyPath] = Timestamp.postgresUTC(micros: parsed.micros)
            } else {
                errors.append(.init(name, "must be an RFC 3339 timestamp such as 2020-05-15T12:46:25.789143Z, got \"\(raw)\""))
            }
        }
        for name in filters {
            guard let raw = value(name) else { continue }
            if name == "status", Delivery.Status(rawValue: raw) == nil {
                errors.append(.init(name, "must be one of pending, completed, failed; got \"\(raw)\""))
            } else if name == "type", Callback.EventType(rawValue: raw) == nil {
                errors.append(.init(name, "must be one of delivery.failed, delivery.completed, subscription.disabled; got \"\(raw)\""))
            } else if name.hasSuffix("_id"), !Validation.isValidID(raw) {
                errors.append(.init(name, Validation.idRule))
            } else {
                filter.equals.append((column: name, value: raw))
            }
        }
        if !errors.isEmpty {
            throw HammerError(.invalidArgument, "invalid_query", "invalid query: \(errors.map(\.field).joined(separator: ", "))", details: errors)
        }
        return filter
    }
}
