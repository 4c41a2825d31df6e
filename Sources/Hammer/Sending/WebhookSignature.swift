import Crypto
import Foundation

/// Standard Webhooks signing: `v1,` + base64 HMAC-SHA256 of `"{id}.{timestamp}.{body}"`.
public enum WebhookSignature {
    /// The `webhook-signature` header value; `secret` is `whsec_<base64 key>` or raw secret text.
    public static func sign(secret: String, id: String, timestamp: Int, body: some DataProtocol) -> String {
        sign(key: key(for: secret), id: id, timestamp: timestamp, body: body)
    }

    /// The HMAC key of a secret; worth keeping when one secret signs many requests.
    public static func key(for secret: String) -> SymmetricKey {
        SymmetricKey(data: SecretToken.keyBytes(secret) ?? Data(secret.utf8))
    }

    public static func sign(key: SymmetricKey, id: String, timestamp: Int, body: some DataProtocol) -> String {
        sign(keyed: HMAC<SHA256>(key: key), id: id, timestamp: timestamp, body: body)
    }

    /// As `sign(key:)`, from an HMAC already keyed (and not yet updated): keying it once per secret, not per
    /// request, saves deriving the key's two padded blocks every time.
    public static func sign(keyed: HMAC<SHA256>, id: String, timestamp: Int, body: some DataProtocol) -> String {
        var hmac = keyed
        hmac.update(data: Data("\(id).\(timestamp).".utf8))
        hmac.update(data: body)
        return "v1," + Data(hmac.finalize()).base64EncodedString()
    }
}
