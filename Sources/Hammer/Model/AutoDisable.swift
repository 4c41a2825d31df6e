/// When a worker disables a subscription on its own: on `410 Gone`, and after failing without a success for a while.
public struct AutoDisable: Sendable, Equatable {
    /// `HAMMER_DISABLE_ON_GONE`.
    public var onGone: Bool
    /// `HAMMER_DISABLE_AFTER_FAILING_FOR`; `nil` never.
    public var afterFailingFor: Duration?

    public init(onGone: Bool = true, afterFailingFor: Duration? = .seconds(120 * 3600)) {
        self.onGone = onGone
        self.afterFailingFor = afterFailingFor
    }
}
