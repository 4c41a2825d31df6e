import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// POSTs signed deliveries on one keep-alive `WebhookHTTPClient`, to the address the send-time check resolved and
/// approved; never follows redirects.
public final class WebhookSender: Sendable {
    let client: WebhookHTTPClient
    let maxResponseBodyBytes: Int
    /// The longest body a payload template may render (twice `HAMMER_MAX_MESSAGE_BYTES` by default).
    let maxRequestBodyBytes: Int
    let allowPrivateTargets: Bool
    /// Keyed HMACs by secret, so `whsec_` base64 is decoded and the key padded once per subscription, not per request.
    private let keys = NIOLockedValueBox<[String: HMAC<SHA256>]>([:])
    /// Parsed URLs by text (`nil`: not a valid webhook URL), so a URL is parsed once, not per request.
    private let urls = NIOLockedValueBox<[String: WebhookURL?]>([:])
    /// Parsed payload templates by text, so a template is parsed once, not per request.
    private let templates = NIOLockedValueBox<[String: Result<PayloadTemplate, PayloadTemplate.ParseError>]>([:])
    let resolver: HostResolver
    let userAgent = "hammer/\(HammerVersion.current)"

    /// A sender; `tlsConfiguration` replaces the system's trust (tests trust their own certificate authority).
    public init(
        maxResponseBodyBytes: Int,
        maxRequestBodyBytes: Int = 2 * 1_048_576,
        allowPrivateTargets: Bool,
        resolver: HostResolver = .shared,
        tlsConfiguration: TLSConfiguration = .makeClientConfiguration()
    ) {
        self.allowPrivateTargets = allowPrivateTargets
        self.resolver = resolver
        self.client = WebhookHTTPClient(tlsConfiguration: tlsConfiguration)
        self.maxResponseBodyBytes = maxResponseBodyBytes
        self.maxRequestBodyBytes = maxRequestBodyBytes
    }

    /// Closes the idle connections; call once on every path out of the worker.
    public func shutdown() async {
        client.shutdown()
    }

    /// Sends one attempt and describes the outcome; never throws. One deadline, the subscription's timeout, bounds
    /// the whole attempt: the send-time target check, connecting, the request, the response head and its body.
    public func send(_ delivery: ClaimedDelivery, now: Date = Date()) async -> AttemptResult {
        let target = Self.cached(delivery.url, in: urls) { WebhookURL($0) }
        var result = AttemptResult(
            delivery: delivery,
            attemptID: ULID.make(date: now),
            request: "",
            response: "",
            statusCode: 0,
            durationMilliseconds: 0,
            success: false,
            error: "",
            errorKind: nil,
            retryAfter: nil
        )
        let request: WebhookRequest
        switch WebhookRequest.make(delivery, target: target, url: delivery.url, timestamp: Int(now.timeIntervalSince1970), parts: requestParts) {
        case .success(let made):
            request = made
        case .failure(let error):
            // Templates and headers are checked when saved, so only what was stored by other means gets here.
            result.errorKind = error.kind
            result.error = "not sent: \(error.description)"
            return result
        }
        result.request = request.recorded
        result.recordedBody = request.recordedBody

        let started = ContinuousClock.now
        let timeout = Int64(delivery.deliveryAttemptTimeout)
        let deadline = started + .seconds(timeout)
        // Each step keeps the deadline itself (the resolver's wait, the connect timeout, a timer on the connection's
        // event loop for the exchange), so a send needs no task or timer of its own beside the request.
        let exchange = await self.exchange(target, url: delivery.url, request: request, deadline: deadline, timeout: timeout)
        result.durationMilliseconds = Self.milliseconds(since: started)
        switch exchange {
        case .failed(let kind, let error):
            result.errorKind = kind
            result.error = error
        case .answered(let response):
            let status = response.head.status
            result.statusCode = Int(status.code)
            result.response = Self.responseDump(response)
            result.success = (200..<300).contains(status.code)
            if !result.success {
                result.errorKind = .httpStatus
                result.error = "unexpected status \(status.code) \(status.reasonPhrase)"
                if status.code == 429 || status.code == 503 {
                    result.retryAfter = response.head.headers.first(name: "Retry-After").flatMap { Self.retryAfter($0, now: now) }
                }
            }
        }
        return result
    }

    /// What came back from a target: a response whose body was read (up to the cap), or a failure.
    private enum Exchange: Sendable {
        case answered(WebhookResponse)
        case failed(AttemptResult.ErrorKind, String)
    }

    /// The target check, the request and the whole response, within `deadline`.
    /// The host is resolved once (cached briefly) and the connection made to that address: with private targets
    /// refused, the address that passed the check is the one called, for http and https alike.
    private func exchange(
        _ target: WebhookURL?,
        url: String,
        request: WebhookRequest,
        deadline: ContinuousClock.Instant,
        timeout: Int64
    ) async -> Exchange {
        guard let target else { return .failed(.invalidURL, "invalid URL: \(URLRedaction.redacted(url))") }
        let addresses: [TargetAddress.Address]
        switch await resolver.resolve(target.host, deadline: deadline) {
        case nil: return .failed(.timeout, "timeout after \(timeout)s (resolving \(target.host))")
        case .unresolvable?: return .failed(.dns, "cannot resolve host \(target.host)")
        case .busy?: return .failed(.dns, "not resolved: too many DNS look-ups are pending (\(target.host))")
        case .addresses(let resolved)?: addresses = resolved
        }
        if !allowPrivateTargets, addresses.contains(where: \.isPrivate) {
            return .failed(.blockedTarget, "not sent: the URL " + TargetAddress.privateRefusal)
        }
        var requestHeaders = HTTPHeaders()
        requestHeaders.reserveCapacity(request.headers.count + 2)
        requestHeaders.add(name: "Host", value: target.authority)
        for (name, value) in request.headers { requestHeaders.add(name: name, value: value) }
        requestHeaders.add(name: "Content-Length", value: String(request.body.count))
        let head = HTTPRequestHead(version: .http1_1, method: request.method, uri: target.target, headers: requestHeaders)
        let payload = ByteBuffer(bytes: request.body)
        // IPv4 first; the next address only when one cannot be connected to.
        let ordered = addresses.filter { if case .v4 = $0 { true } else { false } } + addresses.filter { if case .v6 = $0 { true } else { false } }
        var failure: Exchange = .failed(.dns, "cannot resolve host \(target.host)")
        for (index, address) in ordered.enumerated() {
            do {
                let socketAddress = try SocketAddress(ipAddress: address.description, port: target.port)
                let response = try await client.execute(
                    target,
                    address: socketAddress,
                    head: head,
                    body: payload,
                    maxBodyBytes: maxResponseBodyBytes,
                    deadline: deadline
                )
                return .answered(response)
            } catch {
                // Cancelled (shutdown, or the deadline): the connection was closed under the request on purpose.
                if Task.isCancelled { return .failed(.cancelled, "cancelled") }
                let (kind, text) = Self.classify(error, timeout: timeout)
                failure = .failed(kind, text)
                let couldNotConnect =
                    kind == .connectionRefused || (error as? IOError).map { [ENETUNREACH, EHOSTUNREACH].contains($0.errnoCode) } == true
                guard couldNotConnect, index + 1 < ordered.count else { break }
            }
        }
        return failure
    }

    private var requestParts: WebhookRequest.Parts {
        WebhookRequest.Parts(userAgent: userAgent, key: signingKey, template: parsedTemplate, maxBodyBytes: maxRequestBodyBytes)
    }

    private func signingKey(_ secret: String) -> HMAC<SHA256> {
        Self.cached(secret, in: keys) { HMAC<SHA256>(key: WebhookSignature.key(for: $0)) }
    }

    private func parsedTemplate(_ text: String) -> Result<PayloadTemplate, PayloadTemplate.ParseError> {
        Self.cached(text, in: templates) { text in Result { () throws(PayloadTemplate.ParseError) in try PayloadTemplate(parsing: text) } }
    }

    /// `cache[key]`, made by `make` the first time; the cache is emptied when it reaches 10,000 entries.
    private static func cached<Value>(_ key: String, in cache: NIOLockedValueBox<[String: Value]>, make: (String) -> Value) -> Value {
        if let value = cache.withLockedValue({ $0[key] }) { return value }
        let value = make(key)
        cache.withLockedValue { cache in
            if cache.count >= 10_000 { cache.removeAll() }
            cache[key] = value
        }
        return value
    }

    /// The wait a `Retry-After` value asks for: delta-seconds or an HTTP date.
    static func retryAfter(_ value: String, now: Date) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed) { return .seconds(max(seconds, 0)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return .milliseconds(Int64((max(date.timeIntervalSince(now), 0) * 1000).rounded()))
    }

    /// A bounded kind and a human description for a failed request.
    static func classify(_ error: any Error, timeout: Int64) -> (AttemptResult.ErrorKind, String) {
        if error is ExchangeDeadlineExceeded { return (.timeout, "timeout after \(timeout)s") }
        if error is ConnectionClosedEarly { return (.connectionReset, "connection closed by the receiver before a complete response") }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            return (.tls, "TLS error: \(error)")
        }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: return (.timeout, "timeout after \(timeout)s (connecting)")
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed: return (.connectionReset, "connection closed by the receiver")
            default: return (.other, "connection error: \(error)")
            }
        }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first?.error { return classify(first, timeout: timeout) }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return (.connectionRefused, "connection refused")
            case ECONNRESET, EPIPE: return (.connectionReset, "connection reset by peer")
            case ETIMEDOUT: return (.timeout, "timeout after \(timeout)s")
            case ENETUNREACH, EHOSTUNREACH: return (.other, "network unreachable")
            default: return (.other, "network error: \(error)")
            }
        }
        if error is HTTPParserError || error is NIOHTTPDecoderError {
            return (.invalidResponse, "invalid HTTP response: \(error)")
        }
        if error is CancellationError { return (.cancelled, "cancelled") }
        return (.other, String(describing: error))
    }

    static func responseDump(_ response: WebhookResponse) -> String {
        let head = response.head
        var dump = "HTTP/\(head.version.major).\(head.version.minor) \(head.status.code) \(head.status.reasonPhrase)\r\n"
        for header in head.headers { dump += "\(header.name): \(header.value)\r\n" }
        dump += "\r\n" + String(decoding: response.body.readableBytesView, as: UTF8.self)
        if response.truncated { dump += "\n[truncated: body longer than \(response.body.readableBytes) bytes]" }
        // PostgreSQL text cannot hold NUL.
        return dump.utf8.contains(0) ? dump.replacingOccurrences(of: "\0", with: "\u{FFFD}") : dump
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        Int((ContinuousClock.now - start).wholeMilliseconds)
    }
}
