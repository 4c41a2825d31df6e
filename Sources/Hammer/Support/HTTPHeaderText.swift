/// What may go into an HTTP/1.1 header line (RFC 9110): names are tokens, values printable text.
public enum HTTPHeaderText {
    /// `1*tchar`: letters, digits and ``!#$%&'*+-.^_`|~``.
    public static func isToken(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { byte in
                (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
    }

    /// Visible ASCII, spaces and tabs: no CR, LF or other control characters that would end or split the line.
    public static func isValidValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 == 0x09 || (0x20...0x7E).contains($0) }
    }

    public static let valueRule = "must be printable ASCII (no CR, LF or other control characters)"
}
