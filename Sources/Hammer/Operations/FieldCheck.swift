/// The field errors of one request: those its front end found reading it (a JSON value of the wrong type) and those
/// the operation's rules find. They are answered in the resource's field order, a field's reading errors first, so
/// REST and gRPC name the same fields in the same order.
struct FieldCheck {
    /// The resource's fields in the order their errors are answered; nested paths (`auth.type`, `event_types[2]`)
    /// sort with their field.
    let order: [String]
    private var reading: [HammerError.FieldError]
    private var rules: [HammerError.FieldError] = []

    init(order: [String], reading: [HammerError.FieldError]) {
        self.order = order
        self.reading = reading
    }

    /// Whether no error was found: what a valid request (every publish) asks, without ordering anything.
    var isEmpty: Bool { reading.isEmpty && rules.isEmpty }

    /// Every error so far, reading errors of each field before its rule errors.
    var errors: [HammerError.FieldError] {
        if isEmpty { return [] }
        let position = Dictionary(order.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        func rank(_ error: HammerError.FieldError) -> Int {
            let name = error.field.prefix { $0 != "." && $0 != "[" }
            return position[String(name)] ?? order.count
        }
        let ranked = (reading + rules).enumerated().map { (rank($1), $0, $1) }
        return ranked.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
    }

    mutating func fail(_ field: String, _ description: String) {
        rules.append(.init(field, description))
    }

    /// Whether `field` already has an error, so that a later rule does not add a second one.
    func hasError(_ field: String) -> Bool {
        reading.contains { $0.field == field } || rules.contains { $0.field == field }
    }

    /// `value` when it holds no NUL character, which PostgreSQL text cannot hold; otherwise an error and `nil`.
    mutating func text(_ value: String?, field: String) -> String? {
        guard let value, value.utf8.contains(0) else { return value }
        fail(field, "must not contain NUL characters")
        return nil
    }

    /// Checks a required id field, recording a precise error.
    mutating func requireID(_ value: String?, field: String) {
        if let value {
            if !Validation.isValidID(value) { fail(field, Validation.idRule) }
        } else if !hasError(field) {
            fail(field, "is required")
        }
    }

    /// Checks a required non-blank string field.
    mutating func requireText(_ value: String?, field: String) {
        if let value {
            if value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { fail(field, "must not be blank") }
        } else if !hasError(field) {
            fail(field, "is required")
        }
    }

    /// Throws `invalid_<resource>` with every error, if any.
    func check(_ resource: String) throws {
        if !isEmpty { throw HammerError.invalid(resource, errors) }
    }
}
