import Crypto
import Foundation

/// Subscription signing secrets in the Standard Webhooks form.
public enum SecretToken {
    public static let prefix = "whsec_"

    /// `whsec_` followed by base64 of 32 random bytes.
    public static func generate() -> String {
        let key = SymmetricKey(size: .bits256)
        return prefix + key.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// The HMAC key: the base64-decoded part after `whsec_`, otherwise the secret's UTF-8 bytes.
    public static func keyBytes(_ secret: String) -> Data? {
        guard secret.hasPrefix(prefix) else { return Data(secret.utf8) }
        return Data(base64Encoded: String(secret.dropFirst(prefix.count)))
    }
}
