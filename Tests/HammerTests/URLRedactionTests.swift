import Testing

@testable import Hammer

@Suite struct URLRedactionTests {
    static let cases: [(String, String)] = [
        ("https://hooks.example.com/hook", "https://hooks.example.com/hook"),
        ("https://user:pass@example.com/a?token=abc&flag", "https://[redacted]@example.com/a?token=[redacted]&[redacted]"),
        ("http://a@b@example.com:8080?x=1=2#frag", "http://[redacted]@example.com:8080?x=[redacted]#frag"),
        ("http://example.com/p@th?", "http://example.com/p@th?"),
        ("http://example.com/?a=&&b", "http://example.com/?a=[redacted]&[redacted]&[redacted]"),
        ("/hook?secret=s", "/hook?secret=[redacted]"),
        // A combining mark after `?` or `&` does not hide what follows.
        ("https://h/p?\u{301}token=s&\u{301}k=v", "https://h/p?\u{301}token=[redacted]&\u{301}k=[redacted]"),
    ]

    @Test func userInfoAndQueryValuesAreRedacted() {
        for (url, shown) in Self.cases { #expect(URLRedaction.redacted(url) == shown, "\(url)") }
    }
}
