/// One message to publish as a request gives it; `nil` is a field not given.
struct MessageInput: Sendable {
    var topicID: String?
    /// The message's bytes as text; any character, NUL included (it is stored base64-encoded).
    var data: String?
    var contentType: String?
    var eventType: String?
    /// What the front end found wrong reading the request (a value of the wrong type), answered with the rules' errors.
    var readingErrors: [HammerError.FieldError] = []
}

/// A batch as a request gives it: its `messages` array, each item a message or what was wrong with it.
struct BatchInput: Sendable {
    enum Item: Sendable {
        case message(MessageInput)
        /// Not an object: the error to answer under `messages[index]`.
        case unreadable(String)
    }

    /// `nil` when the request has no `messages` array.
    var items: [Item]?
    /// What was wrong with `messages` itself when it is not an array.
    var readingErrors: [HammerError.FieldError] = []
}

/// Who publishes and under which `Idempotency-Key`: keys are kept per endpoint, and per API key when keys are set.
struct PublishScope: Sendable {
    /// `messages` or `messages/batch`: the same key on the two endpoints names two requests.
    var endpoint: String
    var idempotencyKey: String?
    /// The request's `Authorization` credential.
    var authorization: String?
}
