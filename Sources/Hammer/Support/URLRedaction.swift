/// A webhook URL as everything but its subscription's own GET shows it: user info and query values replaced by
/// `[redacted]` (`https://[redacted]@host/hook?token=[redacted]`), since URLs often carry credentials. The same rule
/// is `hammer_redacted_url` in SQL (migration 11), for the callback bodies the database writes. It works on Unicode
/// scalars, as PostgreSQL does on code points: a `?` or `&` followed by a combining mark still separates.
public enum URLRedaction {
    public static let marker = "[redacted]"

    public static func redacted(_ url: String) -> String {
        let scalars = url.unicodeScalars
        let fragmentStart = scalars.firstIndex(of: "#") ?? scalars.endIndex
        let beforeFragment = scalars[..<fragmentStart]
        let fragment = String(scalars[fragmentStart...])
        let queryStart = beforeFragment.firstIndex(of: "?")
        var base = String(beforeFragment[..<(queryStart ?? beforeFragment.endIndex)])
        if let scheme = base.range(of: "://") {
            let rest = base.unicodeScalars[scheme.upperBound...]
            let authority = rest[..<(rest.firstIndex(of: "/") ?? rest.endIndex)]
            if let at = authority.lastIndex(of: "@") {
                base = String(base.unicodeScalars[..<scheme.upperBound]) + marker + String(base.unicodeScalars[at...])
            }
        }
        guard let queryStart else { return base + fragment }
        let query = beforeFragment[beforeFragment.index(after: queryStart)...]
        guard !query.isEmpty else { return base + "?" + fragment }
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part in
            part.firstIndex(of: "=").map { String(part[..<$0]) + "=" + marker } ?? marker
        }
        return base + "?" + parts.joined(separator: "&") + fragment
    }
}
