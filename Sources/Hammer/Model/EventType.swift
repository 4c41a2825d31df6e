/// Message event types (`invoice.paid`) and the subscription filters that select them.
public enum EventType {
    /// Filters one subscription may have, at most.
    public static let maxFilters = 100

    /// `^[\w.:-]{1,255}$` with ASCII word characters.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard (1...255).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || byte == 95 || byte == 46 || byte == 58 || byte == 45
        }
    }

    /// An exact name, a prefix pattern `name.*` (every type that starts with `name.`), or `*` (every type).
    public static func isValidFilter(_ filter: String) -> Bool {
        if filter == "*" { return true }
        if filter.hasSuffix(".*") { return isValidName(String(filter.dropLast(2))) }
        return isValidName(filter)
    }

    public static let nameRule = "must be 1 to 255 characters of letters, digits, '_', '.', ':' or '-'"
    public static let filterRule = "must be an event type, a prefix pattern such as \"invoice.*\", or \"*\""
}
