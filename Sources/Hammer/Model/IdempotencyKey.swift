import Crypto
import Foundation

/// An `Idempotency-Key` as stored: per caller (`scope`), with a hash of what was asked.
public struct IdempotencyKey: Sendable, Equatable, Hashable {
    public static let maxLength = 255

    /// A hash of the caller's API key, or empty without authentication: keys of different callers never meet.
    public var scope: String
    public var key: String
    /// SHA-256 of the endpoint and the messages asked for.
    public var requestHash: String

    public init(scope: String, key: String, requestHash: String) {
        self.scope = scope
        self.key = key
        self.requestHash = requestHash
    }

    /// The key of a publish to `endpoint` of `requests`, by the caller whose API key is `apiKey`.
    public init(key: String, apiKey: String?, endpoint: String, requests: [PublishRequest]) {
        var hash = SHA256()
        hash.update(data: Data(endpoint.utf8))
        for request in requests {
            for field in [request.topicID, request.contentType, request.eventType ?? "", request.dataBase64] {
                hash.update(data: Data([0]))
                hash.update(data: Data(field.utf8))
            }
        }
        self.init(
            scope: apiKey.map { Self.hex(SHA256.hash(data: Data($0.utf8))) } ?? "",
            key: key,
            requestHash: Self.hex(hash.finalize())
        )
    }

    /// The key's identity, without the request it was used for.
    public struct Slot: Sendable, Hashable {
        public var scope: String
        public var key: String
    }

    public var slot: Slot { Slot(scope: scope, key: key) }

    /// Why `key` cannot be an idempotency key, if it cannot.
    public static func problem(_ key: String) -> String? {
        if key.isEmpty || key.count > maxLength { return "Idempotency-Key must be 1 to \(maxLength) characters" }
        if !HTTPHeaderText.isValidValue(key) { return "Idempotency-Key must be printable ASCII" }
        return nil
    }

    private static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
