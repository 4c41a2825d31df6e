/// When a failed delivery is tried again.
public struct RetryPolicy: Sendable {
    /// Upper bound of any one delay (`HAMMER_MAX_RETRY_DELAY`).
    public var maxDelay: Duration
    /// Relative jitter applied to the exponential delay (±20%).
    public var jitter: Double = 0.2

    public init(maxDelay: Duration) { self.maxDelay = maxDelay }

    /// The wait after failed attempt `attempt` (1-based): `base × 2^(attempt-1)` ±20%, at least `retryAfter` when
    /// the receiver sent one, never more than `maxDelay`.
    public func delay(afterAttempt attempt: Int, base: Duration, retryAfter: Duration? = nil) -> Duration {
        let cap = maxDelay.inSeconds
        let exponent = min(max(attempt - 1, 0), 62)
        var seconds = min(base.inSeconds * Double(sign: .plus, exponent: exponent, significand: 1), cap)
        seconds *= Double.random(in: (1 - jitter)...(1 + jitter))
        if let retryAfter { seconds = max(seconds, retryAfter.inSeconds) }
        return .milliseconds(Int64((min(max(seconds, 0), cap) * 1000).rounded()))
    }
}
