import ArgumentParser
import Foundation
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore

/// `hammer-bench sink`: answers 200 to every POST and keeps arrival statistics. When the event's
/// data is `{"t": <unix microseconds at publish>}` it records publish→arrival latency.
struct Sink: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A webhook receiver that counts arrivals and measures latency.")

    @Option(help: "Port on 127.0.0.1.") var port: Int = 9100

    func run() async throws {
        let stats = SinkStats()
        let router = Router()
        router.post("**") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            stats.record(body: body)
            return Response(status: .ok)
        }
        // The fairness scenario's slow endpoint: every answer takes a second.
        router.post("slow") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            try await Task.sleep(for: .seconds(1))
            return Response(status: .ok)
        }
        router.get("stats") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: stats.snapshotJSON())))
        }
        router.post("reset") { _, _ -> Response in
            stats.reset()
            return Response(status: .ok)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil))
        try await app.runService()
    }
}

final class SinkStats: Sendable {
    private struct Values {
        var count = 0
        var latenciesMicros: [Int64] = []
    }
    private let values = NIOLockedValueBox(Values())

    func record(body: ByteBuffer) {
        let arrival = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let latency = Self.publishMicros(body).map { arrival - $0 }
        values.withLockedValue { values in
            values.count += 1
            if let latency { values.latenciesMicros.append(latency) }
        }
    }

    func reset() { values.withLockedValue { $0 = Values() } }

    func snapshotJSON() -> Data {
        let (count, latencies) = values.withLockedValue { ($0.count, $0.latenciesMicros) }
        let sorted = latencies.sorted()
        func quantile(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]) / 1000
        }
        let object: [String: Any] = [
            "count": count, "latency_samples": sorted.count,
            "p50_ms": quantile(0.5), "p99_ms": quantile(0.99), "max_ms": Double(sorted.last ?? 0) / 1000,
        ]
        return (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
    }

    /// base64 of `{"t":` — only events of the latency scenario carry a publish time.
    private static let marker = Array(#""data_base64":"eyJ0Ijo"#.utf8)

    /// Finds `"data_base64":"…"` in the CloudEvent and reads `t` from the decoded `{"t": …}`.
    static func publishMicros(_ body: ByteBuffer) -> Int64? {
        let bytes = body.readableBytesView
        guard bytes.count >= marker.count,
            bytes.indices.dropLast(marker.count - 1).contains(where: { start in
                bytes[start] == marker[0] && bytes[start..<(start + marker.count)].elementsEqual(marker)
            })
        else { return nil }
        let text = String(buffer: body)
        guard let start = text.range(of: #""data_base64":""#), let end = text[start.upperBound...].firstIndex(of: "\"") else { return nil }
        guard let data = Data(base64Encoded: String(text[start.upperBound..<end])),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let t = object["t"] as? NSNumber
        else { return nil }
        return t.int64Value
    }
}
