/// What became of one publish request (a single message or a batch), written together or not at all.
public enum PublishOutcome: Sendable {
    /// Committed: the messages in request order.
    case published([Message])
    /// Not written: one of its topics does not exist.
    case unknownTopic
    /// Not written: its idempotency key is taken by a live key, or one of its topics does not exist.
    case keyTakenOrUnknownTopic
}
