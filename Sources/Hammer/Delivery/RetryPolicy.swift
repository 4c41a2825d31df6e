/// When a failed delivery is tried again (SPEC §5).
public struct RetryPolicy: Sendable {
    /// Upper bound of any one delay, seconds (`HAMMER_MAX_RETRY_DELAY`).
    public var maxDelay: Double
    /// Relative jitter applied to the exponential delay (±20%).
    public var jitter: Double = 0.2

    public init(maxDelay: Int) { self.maxDelay = Double(maxDelay) }

    /// Seconds to wait after failed attempt `attempt` (1-based): `base × 2^(attempt-1)` ±20%, at least
    /// `retryAfter` when the receiver sent one, never more than `maxDelay`.
    public func delay(afterAttempt attempt: Int, base: Int, retryAfter: Double? = nil) -> Double {
        let exponent = Double(min(max(attempt - 1, 0), 62))
        var seconds = min(Double(base) * Double.pow2(exponent), maxDelay)
        seconds *= Double.random(in: (1 - jitter)...(1 + jitter))
        if let retryAfter { seconds = max(seconds, retryAfter) }
        return min(max(seconds, 0), maxDelay)
    }
}

extension Double {
    fileprivate static func pow2(_ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(exponent) { result *= 2 }
        return result
    }
}
