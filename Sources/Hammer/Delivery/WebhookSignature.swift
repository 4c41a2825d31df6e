import Crypto
import Foundation

/// Standard Webhooks signing: `v1,` + base64 HMAC-SHA256 of `"{id}.{timestamp}.{body}"`.
public enum WebhookSignature {
    /// The `webhook-signature` header value; `secret` is `whsec_<base64 key>` or raw secret text.
    public static func sign(secret: String, id: String, timestamp: Int, body: some DataProtocol) -> String {
        let key = SymmetricKey(data: SecretToken.keyBytes(secret) ?? Data(secret.utf8))
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: Data("\(id).\(timestamp).".utf8))
        hmac.update(data: body)
        return "v1," + Data(hmac.finalize()).base64EncodedString()
    }
}
