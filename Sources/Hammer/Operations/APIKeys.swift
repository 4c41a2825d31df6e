import Crypto
import Foundation

/// The keys of `HAMMER_API_KEYS`; REST (`Authorization` header) and gRPC (`authorization` metadata) take the same
/// `Bearer <key>` credential.
struct APIKeys: Sendable {
    private let digests: [SHA256.Digest]

    init(_ keys: [String]) {
        self.digests = keys.map { SHA256.hash(data: Data($0.utf8)) }
    }

    /// No keys: requests need no credential.
    var isEmpty: Bool { digests.isEmpty }

    /// The key of a `Bearer <key>` credential (scheme in any case); `nil` when it is not one.
    static func bearerKey(_ authorization: String?) -> String? {
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else { return nil }
        return authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
    }

    /// Whether `authorization` is `Bearer` with one of the keys, compared in constant time.
    func accept(_ authorization: String?) -> Bool {
        guard let key = Self.bearerKey(authorization) else { return false }
        let candidate = SHA256.hash(data: Data(key.utf8))
        // Compare against every key so the time taken does not reveal which one matched.
        var matched = false
        for digest in digests where digest == candidate { matched = true }
        return matched
    }
}
