extension DeliveryWorker {
    /// What a worker is told at start: its concurrency, batching, polling, retry ceiling and shutdown budget.
    public struct Settings: Sendable {
        /// Sends in flight at most.
        public var concurrency: Int
        /// A subscription's sends in flight at most, unless it sets its own `max_in_flight`.
        public var subscriptionMaxInFlight: Int
        /// Deliveries claimed per statement at most.
        public var batchSize: Int
        /// How often the worker looks for due deliveries when no wake-up arrives.
        public var pollInterval: Duration
        /// How long in-flight sends may finish after a graceful shutdown begins.
        public var shutdownTimeout: Duration
        /// Seconds a retry waits at most.
        public var maxRetryDelay: Int
        public var autoDisable: AutoDisable

        public init(
            concurrency: Int,
            subscriptionMaxInFlight: Int,
            batchSize: Int,
            pollInterval: Duration,
            shutdownTimeout: Duration,
            maxRetryDelay: Int,
            autoDisable: AutoDisable
        ) {
            self.concurrency = concurrency
            self.subscriptionMaxInFlight = subscriptionMaxInFlight
            self.batchSize = batchSize
            self.pollInterval = pollInterval
            self.shutdownTimeout = shutdownTimeout
            self.maxRetryDelay = maxRetryDelay
            self.autoDisable = autoDisable
        }
    }
}
