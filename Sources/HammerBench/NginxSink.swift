import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers

/// nginx answering 200 on 127.0.0.1:9101, counting requests with stub_status: a receiver that costs hammer's
/// 2 cores far less than a Swift sink. `/latency` also logs each arrival's time and `webhook-id`.
final class NginxSink: Sendable {
    static let port = 9101
    let process: ChildProcess
    private let counter = NIOLockedValueBox((base: 0, polls: 0))

    var url: String { "http://127.0.0.1:\(Self.port)/hook" }
    var latencyURL: String { "http://127.0.0.1:\(Self.port)/latency" }
    static var arrivalsPath: String { FileManager.default.currentDirectoryPath + "/.local/bench/arrivals.log" }

    /// Starts nginx (installing it from apt when missing and running as root); nil when it cannot.
    static func start() -> NginxSink? {
        if capture("command -v nginx") == nil {
            guard getuid() == 0, (try? shell("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null 2>&1")) != nil else {
                return nil
            }
        }
        guard let nginx = capture("command -v nginx")?.trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        let directory = FileManager.default.currentDirectoryPath + "/.local/bench"
        let config = """
            worker_processes 1;
            daemon off;
            pid \(directory)/nginx.pid;
            error_log \(directory)/nginx-error.log warn;
            events { worker_connections 4096; }
            http {
                access_log off;
                log_format arrival '$msec $http_webhook_id';
                keepalive_requests 10000000;
                server {
                    listen 127.0.0.1:\(port);
                    location = /nginx_status { stub_status; }
                    location = /latency { access_log \(arrivalsPath) arrival buffer=256k flush=200ms; return 200 '{"ok":true}'; }
                    location / { return 200 '{"ok":true}'; }
                }
            }
            """
        try? FileManager.default.removeItem(atPath: arrivalsPath)
        let path = "\(directory)/nginx.conf"
        guard (try? config.write(toFile: path, atomically: true, encoding: .utf8)) != nil,
            let process = try? ChildProcess(
                name: "nginx",
                executable: nginx,
                arguments: ["-c", path],
                environment: [:],
                logPath: "\(directory)/nginx.log"
            )
        else { return nil }
        return NginxSink(process: process)
    }

    private init(process: ChildProcess) { self.process = process }

    /// Requests nginx has served since the last `reset()`, not counting these status polls.
    func count(_ http: HTTPClient) async throws -> Int {
        let raw = try await requests(http)
        return counter.withLockedValue { counter in
            counter.polls += 1
            return raw - counter.base - counter.polls
        }
    }

    func reset(_ http: HTTPClient) async throws {
        let raw = try await requests(http)
        counter.withLockedValue { $0 = (raw, 0) }
    }

    private func requests(_ http: HTTPClient) async throws -> Int {
        let response = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(Self.port)/nginx_status"), timeout: .seconds(5))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 16))
        // "server accepts handled requests\n 5 5 130"
        let lines = text.split(separator: "\n")
        guard let index = lines.firstIndex(where: { $0.contains("accepts handled requests") }), index + 1 < lines.count,
            let value = lines[index + 1].split(separator: " ").last.flatMap({ Int($0) })
        else { throw BenchError("unreadable nginx stub_status: \(text)") }
        return value
    }

    /// Arrivals at `/latency` so far: unix time in seconds (millisecond resolution) by `webhook-id`.
    func latencyArrivals() -> [(id: String, seconds: Double)] {
        guard let text = try? String(contentsOfFile: Self.arrivalsPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 2, let seconds = Double(fields[0]) else { return nil }
            return (String(fields[1]), seconds)
        }
    }

    func stop() { process.stop() }
}
