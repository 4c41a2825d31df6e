import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// POSTs signed deliveries on one shared keep-alive `HTTPClient`; never follows redirects.
public final class WebhookSender: Sendable {
    let client: HTTPClient
    let maxResponseBodyBytes: Int
    let allowPrivateTargets: Bool
    /// Decoded signing keys by secret, so `whsec_` base64 is decoded once per subscription, not per request.
    private let keys = NIOLockedValueBox<[String: SymmetricKey]>([:])
    let resolver: HostResolver
    let userAgent = "hammer/\(HammerVersion.current)"

    public init(concurrency: Int, maxResponseBodyBytes: Int, allowPrivateTargets: Bool, resolver: HostResolver = .shared) {
        self.allowPrivateTargets = allowPrivateTargets
        self.resolver = resolver
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        // A refused or unreachable endpoint fails this attempt now rather than retrying until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.maxResponseBodyBytes = maxResponseBodyBytes
    }

    /// Closes the connection pool; call once on every path out of the worker.
    public func shutdown() async {
        try? await client.shutdown()
    }

    /// Sends one attempt and describes the outcome; never throws. One deadline, the subscription's timeout, bounds
    /// the whole attempt: the send-time target check, connecting, the request, the response head and its body.
    public func send(_ delivery: ClaimedDelivery, now: Date = Date()) async -> AttemptResult {
        let body = delivery.cloudEventBody
        let timestamp = Int(now.timeIntervalSince1970)
        let headers: [(String, String)] = [
            ("Content-Type", "application/json"),
            ("User-Agent", userAgent),
            ("webhook-id", delivery.id),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", WebhookSignature.sign(key: signingKey(delivery.secretToken), id: delivery.id, timestamp: timestamp, body: Array(body.utf8))),
        ]
        var result = AttemptResult(
            delivery: delivery, attemptID: ULID.make(date: now), request: Self.requestDump(url: delivery.url, headers: headers, body: body),
            response: "", statusCode: 0, durationMilliseconds: 0, success: false, error: "", errorKind: nil, retryAfter: nil)

        let started = ContinuousClock.now
        let timeout = Int64(delivery.deliveryAttemptTimeout)
        let deadline = started + .seconds(timeout)
        let exchange =
            (try? await DeadlineRace.run(until: deadline, onDeadline: { .success(.failed(.timeout, "timeout after \(timeout)s")) }) {
                await self.exchange(url: delivery.url, headers: headers, body: body, deadline: deadline, timeout: timeout)
            }) ?? .failed(.cancelled, "cancelled")
        result.durationMilliseconds = Self.milliseconds(since: started)
        switch exchange {
        case .failed(let kind, let error):
            result.errorKind = kind
            result.error = error
        case .answered(let response, let collected, let truncated):
            result.statusCode = Int(response.status.code)
            result.response = Self.responseDump(response, body: collected, truncated: truncated)
            result.success = (200..<300).contains(response.status.code)
            if !result.success {
                result.errorKind = .httpStatus
                result.error = "unexpected status \(response.status.code) \(response.status.reasonPhrase)"
                if response.status.code == 429 || response.status.code == 503 {
                    result.retryAfter = response.headers.first(name: "Retry-After").flatMap { Self.retryAfterSeconds($0, now: now) }
                }
            }
        }
        return result
    }

    /// What came back from a target: a response whose body was read (up to the cap), or a failure.
    private enum Exchange: Sendable {
        case answered(HTTPClientResponse, ByteBuffer, truncated: Bool)
        case failed(AttemptResult.ErrorKind, String)
    }

    /// The target check, the request and the whole response, within `deadline` (the caller also cuts it off there).
    private func exchange(url: String, headers: [(String, String)], body: String, deadline: ContinuousClock.Instant, timeout: Int64) async -> Exchange {
        var request = HTTPClientRequest(url: url)
        // Checked again at send time: DNS may have changed since the subscription was created. An http request
        // then goes to the address that was checked, not to whatever the name resolves to a moment later.
        if !allowPrivateTargets {
            guard let host = TargetAddress.host(of: url) else { return .failed(.invalidURL, "invalid URL: it has no host") }
            switch await TargetAddress.check(host: host, resolver: resolver, deadline: deadline) {
            case .refused: return .failed(.blockedTarget, "not sent: the URL " + TargetAddress.privateRefusal)
            case .unresolvable: return .failed(.dns, "cannot resolve host \(host)")
            case .timedOut: return .failed(.timeout, "timeout after \(timeout)s (resolving \(host))")
            case .allowed(let address):
                if url.lowercased().hasPrefix("http:"), let pinned = TargetAddress.pin(url, to: address) {
                    request = HTTPClientRequest(url: pinned.url)
                    request.headers.add(name: "Host", value: pinned.host)
                }
            }
        }
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let remaining = deadline - ContinuousClock.now
            let response = try await client.execute(request, deadline: .now() + .nanoseconds(remaining.wholeNanoseconds))
            var collected = ByteBuffer()
            var truncated = false
            for try await var chunk in response.body {
                let room = maxResponseBodyBytes - collected.readableBytes
                if chunk.readableBytes > room {
                    if room > 0, let slice = chunk.readSlice(length: room) { collected.writeImmutableBuffer(slice) }
                    truncated = true
                    break
                }
                collected.writeBuffer(&chunk)
            }
            return .answered(response, collected, truncated: truncated)
        } catch {
            let (kind, text) = Self.classify(error, timeout: timeout)
            return .failed(kind, text)
        }
    }

    private func signingKey(_ secret: String) -> SymmetricKey {
        if let key = keys.withLockedValue({ $0[secret] }) { return key }
        let key = WebhookSignature.key(for: secret)
        keys.withLockedValue { keys in
            if keys.count >= 10_000 { keys.removeAll() }
            keys[secret] = key
        }
        return key
    }

    /// Seconds from a `Retry-After` value: delta-seconds or an HTTP date.
    static func retryAfterSeconds(_ value: String, now: Date) -> Double? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed) { return Double(max(seconds, 0)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return max(date.timeIntervalSince(now), 0)
    }

    /// A bounded kind and a human description for a failed request.
    static func classify(_ error: any Error, timeout: Int64) -> (AttemptResult.ErrorKind, String) {
        if let error = error as? HTTPClientError {
            if [.deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .getConnectionFromPoolTimeout].contains(error) {
                return (.timeout, "timeout after \(timeout)s")
            }
            if error == .remoteConnectionClosed { return (.connectionReset, "connection closed by the receiver before a complete response") }
            if error == .cancelled { return (.cancelled, "cancelled") }
            if error == .tlsHandshakeTimeout { return (.tls, "TLS handshake timed out") }
            if [.invalidURL, .emptyHost, .emptyScheme, .missingSocketPath].contains(error) || error.shortDescription.contains("scheme") {
                return (.invalidURL, "invalid URL: \(error.shortDescription)")
            }
            let text = error.shortDescription.lowercased()
            if text.contains("invalid") || text.contains("malformed") || text.contains("header") {
                return (.invalidResponse, "invalid HTTP response: \(error.shortDescription)")
            }
            return (.other, error.shortDescription)
        }
        if error is NIOSSLError || error is BoringSSLError {
            return (.tls, "TLS error: \(error)")
        }
        if let error = error as? NIOConnectionError {
            if error.dnsAError != nil || error.dnsAAAAError != nil, error.connectionErrors.isEmpty {
                return (.dns, "cannot resolve host \(error.host)")
            }
            if let first = error.connectionErrors.first?.error { return classify(first, timeout: timeout) }
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return (.connectionRefused, "connection refused")
            case ECONNRESET, EPIPE: return (.connectionReset, "connection reset by peer")
            case ETIMEDOUT: return (.timeout, "timeout after \(timeout)s")
            default: return (.other, "network error: \(error)")
            }
        }
        if error is HTTPParserError {
            return (.invalidResponse, "invalid HTTP response: \(error)")
        }
        if error is CancellationError { return (.cancelled, "cancelled") }
        if error is ChannelError { return (.connectionReset, "connection error: \(error)") }
        if error is NIOHTTPDecoderError || error is NIOConnectionError { return (.invalidResponse, "invalid HTTP response: \(error)") }
        let text = String(describing: error)
        if text.contains("NXDOMAIN") || text.lowercased().contains("resolve") { return (.dns, "cannot resolve host") }
        return (.other, text)
    }

    static func requestDump(url: String, headers: [(String, String)], body: String) -> String {
        // scheme://authority/path?query → the request target and Host, without a URL parser per attempt.
        let afterScheme = url.firstIndex(of: ":").flatMap { colon in
            url[colon...].hasPrefix("://") ? url[url.index(colon, offsetBy: 3)...] : nil
        } ?? url[...]
        let slash = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
        var authority = afterScheme[..<slash]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var target = String(afterScheme[slash...])
        if let fragment = target.firstIndex(of: "#") { target = String(target[..<fragment]) }
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        var dump = "POST \(target) HTTP/1.1\r\nHost: \(authority)\r\n"
        for (name, value) in headers { dump += "\(name): \(value)\r\n" }
        return dump + "\r\n" + body
    }

    static func responseDump(_ response: HTTPClientResponse, body: ByteBuffer, truncated: Bool) -> String {
        var dump = "HTTP/\(response.version.major).\(response.version.minor) \(response.status.code) \(response.status.reasonPhrase)\r\n"
        for header in response.headers { dump += "\(header.name): \(header.value)\r\n" }
        dump += "\r\n" + String(decoding: body.readableBytesView, as: UTF8.self)
        if truncated { dump += "\n[truncated: body longer than \(body.readableBytes) bytes]" }
        // PostgreSQL text cannot hold NUL.
        return dump.utf8.contains(0) ? dump.replacingOccurrences(of: "\0", with: "\u{FFFD}") : dump
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        Int((ContinuousClock.now - start).wholeMilliseconds)
    }
}
