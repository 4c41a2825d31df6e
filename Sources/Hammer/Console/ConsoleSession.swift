import Crypto
import Foundation

/// The console's signed session cookie and CSRF tokens. A session names the API key it was opened with (by digest)
/// and its expiry, signed with a key derived from all of `HAMMER_API_KEYS`: every server with the same keys accepts
/// it, and removing a key ends its sessions. The cookie never holds the key itself.
struct ConsoleSession: Sendable {
    static let cookieName = "hammer_session"
    static let csrfCookieName = "hammer_csrf"
    static let lifetime: TimeInterval = 12 * 3600

    let keys: APIKeys
    private let signingKey: SymmetricKey
    private let keyDigests: Set<String>

    init(keys: [String]) {
        self.keys = APIKeys(keys)
        self.keyDigests = Set(keys.map(Self.digest))
        var material = Data("hammer-console-session-v1".utf8)
        for key in keys.sorted() { material += Data(SHA256.hash(data: Data(key.utf8))) }
        self.signingKey = SymmetricKey(data: SHA256.hash(data: material))
    }

    /// A cookie value for a session opened with `key` now: `<expiry>.<key digest>.<signature>`.
    func open(key: String, now: Date = Date()) -> String {
        let payload = "\(Int(now.timeIntervalSince1970 + Self.lifetime)).\(Self.digest(key))"
        return payload + "." + sign(payload)
    }

    /// Whether `cookie` is a session signed here, unexpired, for a key still configured.
    func isValid(_ cookie: String?, now: Date = Date()) -> Bool {
        guard let cookie else { return false }
        let parts = cookie.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = Int(parts[0]), TimeInterval(expiry) > now.timeIntervalSince1970,
            keyDigests.contains(String(parts[1]))
        else { return false }
        // Compared as digests, whose equality takes the same time wherever they differ (as `APIKeys` compares keys).
        return SHA256.hash(data: Data(sign("\(parts[0]).\(parts[1])").utf8)) == SHA256.hash(data: Data(parts[2].utf8))
    }

    /// A fresh random CSRF token for the double-submit cookie.
    static func newCSRFToken() -> String {
        SymmetricKey(size: .bits128).withUnsafeBytes { hex(Data($0)) }
    }

    private func sign(_ payload: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: signingKey)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    private static func digest(_ key: String) -> String {
        hex(Data(SHA256.hash(data: Data(key.utf8)).prefix(8)))
    }

    private static func hex(_ bytes: Data) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
