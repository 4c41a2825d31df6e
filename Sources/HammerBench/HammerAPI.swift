import AsyncHTTPClient
import Foundation
import NIOCore

/// The benchmark's and the chaos suite's client of a running `hammer server`: JSON posts, topics with their
/// subscriptions, and waiting for an endpoint to become ready.
struct HammerAPI: Sendable {
    let http: HTTPClient
    /// `http://127.0.0.1:PORT`
    let base: String

    struct Answer: Sendable {
        let status: Int
        let body: String
        let seconds: Double
    }

    struct SubscriptionSpec: Sendable {
        var id: String
        var url: String
        var maxAttempts = 10
        var delay = 1
        var timeout = 2
        var ordered = false
        /// Where outcome callbacks go, and which (`delivery.completed` …).
        var callbackURL: String?
        var callbackEvents: [String] = []
    }

    func post(_ path: String, _ json: String, timeout: Int64 = 30) async throws -> Answer {
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let started = ContinuousClock.now
        let response = try await http.execute(request, timeout: .seconds(timeout))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), body: String(buffer: body), seconds: (ContinuousClock.now - started).inSeconds)
    }

    func createTopic(_ topic: String, subscriptions: [SubscriptionSpec]) async throws {
        let created = try await post("/v1/topics", #"{"id":"\#(topic)","name":"\#(topic)"}"#)
        guard created.status == 200 else { throw BenchError("creating topic \(topic): \(created.body)") }
        for spec in subscriptions {
            let callback =
                spec.callbackURL.map { url in
                    #","callback_url":"\#(url)","callback_events":[\#(spec.callbackEvents.map { "\"\($0)\"" }.joined(separator: ","))]"#
                } ?? ""
            let body = """
                {"id":"\(spec.id)","topic_id":"\(topic)","name":"\(spec.id)","url":"\(spec.url)","max_delivery_attempts":\(spec.maxAttempts),\
                "delivery_attempt_delay":\(spec.delay),"delivery_attempt_timeout":\(spec.timeout),"ordered":\(spec.ordered)\(callback)}
                """
            let answer = try await post("/v1/subscriptions", body)
            guard answer.status == 200 else { throw BenchError("creating subscription \(spec.id): \(answer.body)") }
        }
    }

    /// Waits until `url` answers 2xx; `logs` says where to look when it does not.
    func waitReady(_ url: String, timeout: Duration = .seconds(60), logs: String) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let response = try? await http.execute(HTTPClientRequest(url: url), timeout: .seconds(2)), response.status.code < 300 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("\(url) did not become ready; see \(logs)")
    }
}
