import Foundation

/// Where a webhook URL's host points, and whether that is a private destination a server-side request must not
/// reach (SSRF): loopback, RFC 1918, link-local and cloud metadata, CGNAT, IPv6 ULA and site-local, unspecified,
/// multicast, reserved, and the IPv6 forms that carry such an IPv4 address (mapped, 6to4, NAT64, Teredo).
public enum TargetAddress {
    public enum Address: Equatable, Sendable, CustomStringConvertible {
        case v4([UInt8])
        case v6([UInt8])

        public var description: String {
            switch self {
            case .v4(let bytes): return bytes.map(String.init).joined(separator: ".")
            case .v6(let bytes):
                return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                    .joined(separator: ":")
            }
        }

        var isPrivate: Bool {
            switch self {
            case .v4(let b):
                return b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224  // this network, private, loopback, multicast, reserved
                    || (b[0] == 100 && (64...127).contains(b[1]))  // CGNAT 100.64/10
                    || (b[0] == 169 && b[1] == 254)  // link-local, cloud metadata
                    || (b[0] == 172 && (16...31).contains(b[1]))  // 172.16/12
                    || (b[0] == 192 && b[1] == 168)  // 192.168/16
                    || (b[0] == 192 && b[1] == 0 && (b[2] == 0 || b[2] == 2))  // IETF protocol assignments, TEST-NET-1
                    || (b[0] == 198 && (18...19).contains(b[1]))  // benchmarking 198.18/15
                    || (b[0] == 198 && b[1] == 51 && b[2] == 100) || (b[0] == 203 && b[1] == 0 && b[2] == 113)  // TEST-NET-2, -3
            case .v6(let b):
                if b.allSatisfy({ $0 == 0 }) { return true }  // ::
                if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return true }  // ::1
                if b[0] & 0xFE == 0xFC { return true }  // ULA fc00::/7
                if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return true }  // link-local fe80::/10
                if b[0] == 0xFE && b[1] & 0xC0 == 0xC0 { return true }  // deprecated site-local fec0::/10
                if b[0] == 0xFF { return true }  // multicast
                // v4-mapped ::ffff:0:0/96
                if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF { return Address.v4(Array(b[12..<16])).isPrivate }
                if b[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] { return Address.v4(Array(b[12..<16])).isPrivate }  // NAT64
                if b[0..<6] == [0x00, 0x64, 0xFF, 0x9B, 0x00, 0x01] { return true }  // NAT64 local-use 64:ff9b:1::/48
                if b[0] == 0x20 && b[1] == 0x02 { return Address.v4(Array(b[2..<6])).isPrivate }  // 6to4 2002::/16
                if b[0..<4] == [0x20, 0x01, 0x00, 0x00] { return Address.v4(b[12..<16].map { ~$0 }).isPrivate }  // Teredo 2001::/32
                if b[0..<12].allSatisfy({ $0 == 0 }) { return true }  // deprecated v4-compatible
                return false
            }
        }
    }

    /// The refusal text for a URL whose host has a private address. It names no address: an API user must not
    /// learn what an internal name resolves to.
    public static let privateRefusal =
        "resolves to a private, loopback or link-local address; set HAMMER_ALLOW_PRIVATE_TARGETS=true to allow it"

    /// An IP literal, parsed without any lookup.
    static func literal(_ host: String) -> Address? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return .v4(withUnsafeBytes(of: &v4) { Array($0) })
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return .v6(withUnsafeBytes(of: &v6) { Array($0) })
        }
        return nil
    }

    /// Every address `host` resolves to, by the blocking `getaddrinfo`.
    static func systemLookup(_ host: String) throws -> [Address] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else { throw ResolutionError(host: host) }
        defer { freeaddrinfo(first) }
        var addresses: [Address] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if entry.pointee.ai_family == AF_INET, let raw = entry.pointee.ai_addr {
                var address = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                addresses.append(.v4(withUnsafeBytes(of: &address) { Array($0) }))
            } else if entry.pointee.ai_family == AF_INET6, let raw = entry.pointee.ai_addr {
                var address = raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                addresses.append(.v6(withUnsafeBytes(of: &address) { Array($0) }))
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }

    struct ResolutionError: Error { let host: String }

    /// Why `url` may not be the target of a subscription when private targets are not allowed, or nil when it may.
    /// A host that does not resolve now (DNS not set up yet, a resolver hiccup) is accepted: the send-time check decides.
    static func refusalAtCreate(for url: String, resolver: HostResolver = .shared) async -> String? {
        guard let host = WebhookURL(url)?.host else { return "has no host" }
        guard case .addresses(let addresses)? = await resolver.resolve(host, deadline: .now + .seconds(2)) else { return nil }
        return addresses.contains(where: \.isPrivate) ? privateRefusal : nil
    }
}
