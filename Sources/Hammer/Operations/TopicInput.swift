/// A topic as a create or an update gives it; `nil` is a field not given.
struct TopicInput: Sendable {
    var id: String?
    var name: String?
    /// What the front end found wrong reading the request (a value of the wrong type), answered with the rules' errors.
    var readingErrors: [HammerError.FieldError] = []
}
