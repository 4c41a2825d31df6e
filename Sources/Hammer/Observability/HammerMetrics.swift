import Foundation
import NIOConcurrencyHelpers
import Prometheus

/// The Prometheus series hammer exports, on a registry served at `GET /metrics`. Labels are bounded: route
/// template, method, status class, delivery outcome, error kind.
public final class HammerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    let inFlight: Gauge
    private let pending: Gauge
    private let oldestPendingAge: Gauge
    private let published: Counter
    private let setAside: Counter
    private let lastPendingRefresh = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        inFlight = registry.makeGauge(
            descriptor: .init(metricName: "hammer_deliveries_in_flight", unitName: "", helpText: "Webhook requests being sent by this process.")
        )
        pending = registry.makeGauge(
            descriptor: .init(
                metricName: "hammer_deliveries_pending",
                unitName: "",
                helpText: "Deliveries waiting to be delivered (refreshed at most every 5s)."
            )
        )
        oldestPendingAge = registry.makeGauge(
            descriptor: .init(
                metricName: "hammer_deliveries_oldest_pending_age_seconds",
                unitName: "",
                helpText: "Age of the oldest due pending delivery (refreshed at most every 5s)."
            )
        )
        published = registry.makeCounter(
            descriptor: .init(metricName: "hammer_messages_published_total", unitName: "", helpText: "Messages published.")
        )
        setAside = registry.makeCounter(
            descriptor: .init(
                metricName: "hammer_attempt_records_set_aside_total",
                unitName: "",
                helpText: "Attempts PostgreSQL refused to store as they were, recorded without their request and response dumps."
            )
        )
    }

    /// One HTTP request answered by the server.
    func request(route: String, method: String, status: Int, duration: Duration) {
        let statusClass = "\(status / 100)xx"
        registry.makeCounter(
            descriptor: .init(
                metricName: "hammer_http_requests_total",
                unitName: "",
                helpText: "HTTP requests answered, by route template, method and status class."
            ),
            labels: [("route", route), ("method", method), ("status", statusClass)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(metricName: "hammer_http_request_duration_seconds", unitName: "", helpText: "HTTP request durations."),
            labels: [("route", route), ("method", method)],
            buckets: Self.durationBuckets
        ).record(duration)
    }

    /// One gRPC call answered by the server; `method` is `service/Method`, `code` the status name (`ok`, `notFound`, …).
    func rpc(method: String, code: String, duration: Duration) {
        registry.makeCounter(
            descriptor: .init(metricName: "hammer_grpc_requests_total", unitName: "", helpText: "gRPC calls answered, by method and status code."),
            labels: [("method", method), ("code", code)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(
                metricName: "hammer_grpc_request_duration_seconds",
                unitName: "",
                helpText: "gRPC call durations (unary: until answered)."
            ),
            labels: [("method", method)],
            buckets: Self.durationBuckets
        ).record(duration)
    }

    func messagesPublished(_ count: Int) { published.increment(by: Int64(count)) }

    func recordsSetAside(_ count: Int) { setAside.increment(by: Int64(count)) }

    /// One delivery attempt: its outcome (`completed`, `retry`, `failed`) and error kind, and how long it took.
    func attempt(outcome: String, errorKind: String, duration: Duration) {
        registry.makeCounter(
            descriptor: .init(
                metricName: "hammer_deliveries_total",
                unitName: "",
                helpText: "Delivery attempts by outcome (completed, retry, failed) and error kind."
            ),
            labels: [("outcome", outcome), ("error_kind", errorKind)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(
                metricName: "hammer_delivery_attempt_duration_seconds",
                unitName: "",
                helpText: "Webhook request durations, until the response body was read."
            ),
            labels: [],
            buckets: Self.durationBuckets
        ).record(duration)
    }

    /// One callback attempt ended: `completed`, `retry` or `failed`.
    func callback(outcome: String) {
        registry.makeCounter(
            descriptor: .init(metricName: "hammer_callbacks_total", unitName: "", helpText: "Callback attempts by outcome."),
            labels: [("outcome", outcome)]
        ).increment()
    }

    /// Prometheus text format, refreshing the pending gauges first when they are older than 5 seconds.
    func render(gauges: () async -> QueueGauges) async -> [UInt8] {
        let now = ContinuousClock.now
        let due = lastPendingRefresh.withLockedValue { last -> Bool in
            guard last.map({ now - $0 >= .seconds(5) }) ?? true else { return false }
            last = now
            return true
        }
        let gauges = due ? await gauges() : QueueGauges()
        if let (count, age) = gauges.pending {
            pending.set(Double(count))
            oldestPendingAge.set(age)
        }
        if let health = gauges.health {
            for (status, count) in health.subscriptions {
                registry.makeGauge(
                    descriptor: .init(
                        metricName: "hammer_subscriptions",
                        unitName: "",
                        helpText: "Subscriptions by status (refreshed at most every 5s)."
                    ),
                    labels: [("status", status.rawValue)]
                ).set(Double(count))
            }
            for (reason, count) in health.heldBack {
                registry.makeGauge(
                    descriptor: .init(
                        metricName: "hammer_deliveries_held_back",
                        unitName: "",
                        helpText:
                            "Pending deliveries waiting behind a subscription setting: disabled, rate_limit (due), ordered (due, behind the head); refreshed at most every 5s."
                    ),
                    labels: [("reason", reason)]
                ).set(Double(count))
            }
        }
        return registry.emitToBuffer()
    }
}
