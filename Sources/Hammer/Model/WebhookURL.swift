/// The parts of an absolute http(s) webhook URL a request needs, split by hand: this runs for every attempt.
struct WebhookURL: Sendable, Equatable {
    var isHTTPS: Bool
    /// The host without brackets around an IPv6 literal.
    var host: String
    var port: Int
    /// `host[:port]` as the URL writes it, without user info: the `Host` header.
    var authority: String
    /// Path and query (`/` when the URL has none), without the fragment.
    var target: String

    init?(_ url: String) {
        guard let separator = url.range(of: "://") else { return nil }
        let scheme = url[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        isHTTPS = scheme == "https"
        let rest = url[separator.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var hostPart = authority
        var port = isHTTPS ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let afterClose = authority[authority.index(after: close)...]
            if afterClose.hasPrefix(":") {
                guard let parsed = Int(afterClose.dropFirst()), (1...65535).contains(parsed) else { return nil }
                port = parsed
            } else if !afterClose.isEmpty {
                return nil
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            let digits = authority[authority.index(after: colon)...]
            if !digits.isEmpty {
                guard let parsed = Int(digits), (1...65535).contains(parsed) else { return nil }
                port = parsed
            }
        }
        guard !hostPart.isEmpty else { return nil }
        host = String(hostPart)
        self.port = port
        self.authority = String(authority)
        var target = String(rest[authorityEnd...])
        if let fragment = target.firstIndex(of: "#") { target = String(target[..<fragment]) }
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        self.target = target
    }

    /// Host and path have no space or control character, so the request line and `Host` header cannot be split
    /// (the API refuses such URLs; this catches what was stored by other means).
    var isWritable: Bool {
        authority.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F } && target.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F }
    }
}
