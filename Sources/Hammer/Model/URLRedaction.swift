/// A webhook URL as everything but its subscription's own GET shows it: user info and query values replaced by
/// `[redacted]` (`https://[redacted]@host/hook?token=[redacted]`), since URLs often carry credentials. The same rule
/// is `hammer_redacted_url` in SQL (migration 11), for the callback bodies the database writes.
public enum URLRedaction {
    public static let marker = "[redacted]"

    public static func redacted(_ url: String) -> String {
        let fragmentStart = url.firstIndex(of: "#") ?? url.endIndex
        let beforeFragment = url[..<fragmentStart]
        let queryStart = beforeFragment.firstIndex(of: "?")
        var base = String(beforeFragment[..<(queryStart ?? beforeFragment.endIndex)])
        if let scheme = base.range(of: "://") {
            let rest = base[scheme.upperBound...]
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                base = String(base[..<scheme.upperBound]) + marker + String(base[at...])
            }
        }
        guard let queryStart else { return base + url[fragmentStart...] }
        let query = beforeFragment[beforeFragment.index(after: queryStart)...]
        guard !query.isEmpty else { return base + "?" + url[fragmentStart...] }
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part in
            part.firstIndex(of: "=").map { String(part[..<$0]) + "=" + marker } ?? marker
        }
        return base + "?" + parts.joined(separator: "&") + url[fragmentStart...]
    }
}
