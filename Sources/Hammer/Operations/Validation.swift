import Foundation

/// Field rules shared by the resources.
enum Validation {
    /// `^[\w.+-]{1,255}$` with ASCII word characters, as hammer checks ids.
    static func isValidID(_ id: String) -> Bool {
        let bytes = id.utf8
        guard (1...255).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || byte == 95 || byte == 46 || byte == 43 || byte == 45
        }
    }

    /// An absolute http(s) URL with a host: well-formed (RFC 3986, as `URLComponents` reads it) and one the
    /// sender can call (`WebhookURL`: a port in range, a host).
    static func isValidWebhookURL(_ string: String) -> Bool {
        guard string.utf8.count <= 2048, !string.contains(where: { $0.isWhitespace }),
            let components = URLComponents(string: string), components.host?.isEmpty == false
        else { return false }
        return WebhookURL(string) != nil
    }

    static let idRule = "must be 1 to 255 characters of letters, digits, '_', '.', '+' or '-'"
}
