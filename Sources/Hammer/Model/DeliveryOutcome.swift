/// The state a delivery moves to after an attempt, with the attempt to record.
public struct DeliveryOutcome: Sendable {
    public var result: AttemptResult
    public var status: Delivery.Status
    /// Until the next attempt, when `status` is pending.
    public var retryDelay: Duration

    public init(result: AttemptResult, status: Delivery.Status, retryDelay: Duration = .zero) {
        self.result = result
        self.status = status
        self.retryDelay = retryDelay
    }
}
