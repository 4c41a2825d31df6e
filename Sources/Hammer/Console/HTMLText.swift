import Mustache

/// HTML escaping for the console's templates, by Unicode scalar: Mustache's own escaping compares whole characters
/// (grapheme clusters), so a `"` followed by a combining mark (`"\u{301}`) is one character that is not `"`, and
/// would be written raw, ending an attribute.
struct HTMLText: MustacheContentType {
    /// The name the templates' content-type pragma uses.
    static let contentTypeName = "HAMMER_HTML"

    func escapeText(_ text: String) -> String {
        Self.escape(text)
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "&": escaped += "&amp;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
