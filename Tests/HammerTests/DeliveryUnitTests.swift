import Crypto
import Foundation
import Testing

@testable import Hammer

@Suite struct WebhookSignatureTests {
    @Test func standardWebhooksTestVector() {
        let signature = WebhookSignature.sign(
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp: 1_614_265_330,
            body: Data(#"{"test": 2432232314}"#.utf8)
        )
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func secretsWithoutPrefixUseTheirBytes() {
        let plain = WebhookSignature.sign(secret: "my-super-secret-token", id: "a", timestamp: 1, body: Data("b".utf8))
        let encoded = WebhookSignature.sign(
            secret: "whsec_" + Data("my-super-secret-token".utf8).base64EncodedString(),
            id: "a",
            timestamp: 1,
            body: Data("b".utf8)
        )
        #expect(plain == encoded)
        #expect(plain.hasPrefix("v1,"))
    }
}

@Suite struct RetryPolicyTests {
    @Test func exponentialWithJitter() {
        let policy = RetryPolicy(maxDelay: .seconds(86400))
        for attempt in 1...6 {
            let base = 10.0 * Double(1 << (attempt - 1))
            for _ in 0..<50 {
                let delay = policy.delay(afterAttempt: attempt, base: .seconds(10)).inSeconds
                #expect(delay >= base * 0.8 && delay <= base * 1.2, "attempt \(attempt): \(delay)")
            }
        }
    }

    @Test func cappedAndRaisedByRetryAfter() {
        let policy = RetryPolicy(maxDelay: .seconds(100))
        #expect(policy.delay(afterAttempt: 100, base: .seconds(60)) <= .seconds(100))
        #expect(policy.delay(afterAttempt: 1, base: .seconds(1), retryAfter: .seconds(50)) == .seconds(50))
        #expect(policy.delay(afterAttempt: 1, base: .seconds(1), retryAfter: .seconds(5000)) == .seconds(100))
    }

    @Test func retryAfterHeaderForms() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(WebhookSender.retryAfter("120", now: now) == .seconds(120))
        #expect(WebhookSender.retryAfter("Tue, 14 Nov 2023 22:15:20 GMT", now: now) == .seconds(120))
        #expect(WebhookSender.retryAfter("soon", now: now) == nil)
    }
}

@Suite struct CloudEventTests {
    @Test func bodyIsHammersEnvelopeInOrder() {
        let delivery = ClaimedDelivery(
            id: "D1",
            topicID: "t\"q",
            subscriptionID: "s",
            messageID: "M1",
            contentType: "application/json",
            dataBase64: "eyJ9",
            publishedAt: Date(timeIntervalSince1970: 1_589_546_785.789143),
            url: "http://x",
            secretToken: "k",
            maxDeliveryAttempts: 1,
            deliveryAttemptDelay: 1,
            deliveryAttemptTimeout: 1,
            deliveryAttempts: 0,
            lease: 0
        )
        #expect(
            delivery.cloudEventBody
                == #"{"specversion":"1.0","type":"hammer.message.created","source":"/v1/messages/M1","id":"D1","time":"2020-05-15T12:46:25.789143Z","messageid":"M1","subscriptionid":"s","topicid":"t\"q","datacontenttype":"application/json","data_base64":"eyJ9"}"#
        )
    }
}

@Suite struct AttemptDumpTests {
    @Test func requestDumpHasTargetAndHost() {
        #expect(
            dump("https://example.com:8443/a/b?c=d#frag").hasPrefix(
                "POST /a/b?c=[redacted] HTTP/1.1\r\nHost: example.com:8443\r\nContent-Type: application/json\r\n"
            )
        )
        #expect(dump("http://user:pw@example.com").hasPrefix("POST / HTTP/1.1\r\nHost: example.com\r\n"))
        // Query values may be credentials: recorded redacted.
        #expect(dump("http://example.com?x=1").hasPrefix("POST /?x=[redacted] HTTP/1.1\r\n"))
        // A URL the sender cannot parse is still recorded as the Host, its credentials redacted.
        #expect(dump("http://host:99999/x").hasPrefix("POST / HTTP/1.1\r\nHost: http://host:99999/x\r\n"))
        #expect(dump("http://u:p@host:99999/x?k=v").hasPrefix("POST / HTTP/1.1\r\nHost: http://[redacted]@host:99999/x?k=[redacted]\r\n"))
    }

    @Test func requestDumpRedactsCredentialsAndEndsWithTheBody() throws {
        var delivery = ClaimedDelivery.sample()
        delivery.options = DeliveryOptions(httpMethod: .put, headers: ["X-Api-Key": "key-123"], auth: .bearer(token: "tok-456"))
        let request = try WebhookRequest.make(delivery, target: WebhookURL("http://x/hook"), url: "http://x/hook", timestamp: 1, parts: .forTests)
            .get()
        #expect(request.dump.hasPrefix("PUT /hook HTTP/1.1\r\n"))
        #expect(request.dump.contains("X-Api-Key: [redacted]\r\n"))
        #expect(request.dump.contains("Authorization: [redacted]\r\n"))
        #expect(!request.dump.contains("key-123") && !request.dump.contains("tok-456"))
        #expect(request.headers.contains { $0 == ("Authorization", "Bearer tok-456") })
        #expect(request.headers.contains { $0 == ("X-Api-Key", "key-123") })
        #expect(request.dump.hasSuffix("\r\n\r\n" + delivery.cloudEventBody))
    }

    @Test func headerTextThatWouldSplitTheRequestIsNotSent() {
        // Refused when saved; a row written by other means must still not reach the wire.
        for (headers, auth, name) in [
            (["X-Split": "a\r\nInjected: yes"], nil, "X-Split"), (["Bad Name": "v"], nil, "Bad Name"),
            ([:], TargetAuth.bearer(token: "t\nx"), "Authorization"),
        ] as [([String: String], TargetAuth?, String)] {
            var delivery = ClaimedDelivery.sample()
            delivery.options = DeliveryOptions(headers: headers, auth: auth)
            let made = WebhookRequest.make(delivery, target: WebhookURL("http://x/hook"), url: "http://x/hook", timestamp: 1, parts: .forTests)
            #expect(throws: WebhookRequest.NotMade(description: "header \(name) is not valid HTTP header text")) { try made.get() }
        }
        for url in ["http://x/a b", "http://x/a\r\nInjected: yes", "http://x\u{7F}/"] {
            #expect(throws: WebhookRequest.NotMade(description: "the URL has a space or control character in its host or path"), "\(url)") {
                try WebhookRequest.make(.sample(url: url), target: WebhookURL(url), url: url, timestamp: 1, parts: .forTests).get()
            }
        }
        var delivery = ClaimedDelivery.sample()
        delivery.options = DeliveryOptions(headers: ["X-Fine": "tab\tand spaces ok"])
        #expect(throws: Never.self) {
            try WebhookRequest.make(delivery, target: WebhookURL("http://x"), url: "http://x", timestamp: 1, parts: .forTests).get()
        }
    }

    private func dump(_ url: String) -> String {
        (try? WebhookRequest.make(.sample(url: url), target: WebhookURL(url), url: url, timestamp: 1, parts: .forTests).get().dump) ?? ""
    }
}

extension WebhookRequest.Parts {
    static var forTests: Self {
        .init(
            userAgent: "hammer/test",
            key: { HMAC<SHA256>(key: WebhookSignature.key(for: $0)) },
            template: { text in Result { () throws(PayloadTemplate.ParseError) in try PayloadTemplate(parsing: text) } },
            maxBodyBytes: 2 * 1_048_576
        )
    }
}

@Suite struct TargetAddressTests {
    @Test func classifiesAddresses() throws {
        let privateHosts = [
            "127.0.0.1", "10.0.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.64.0.1", "100.127.255.255", "0.0.0.0",
            "224.0.0.1", "255.255.255.255", "::1", "::", "fd12::1", "fc00::1", "fe80::1", "ff02::1", "::ffff:10.0.0.1", "64:ff9b::7f00:1",
            "2002:a00:1::1", "2002:7f00:1::", "fec0::1", "feff::1", "64:ff9b:1::8.8.8.8", "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "192.0.2.1", "198.51.100.7", "203.0.113.9",
        ]
        for host in privateHosts {
            #expect(try #require(TargetAddress.literal(host)).isPrivate, "\(host)")
        }
        for host in [
            "93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "2002:5db8:d822::1",
            "64:ff9b::8.8.8.8", "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
        ] {
            #expect(try #require(TargetAddress.literal(host)).isPrivate == false, "\(host)")
        }
        #expect(TargetAddress.literal("example.com") == nil)
        #expect(WebhookURL("http://[::1]:8080/x")?.host == "::1")
    }

    /// What the sender takes from a URL: the host it resolves and checks (the connection then goes to the checked
    /// address), the port, and the `Host` header and request target it sends.
    @Test func webhookURLsGiveHostPortAuthorityAndTarget() throws {
        func parts(_ url: String) -> String? {
            WebhookURL(url).map { "\($0.isHTTPS ? "https" : "http") \($0.host) \($0.port) \($0.authority) \($0.target)" }
        }
        #expect(parts("http://user:pw@hooks.example.com:8080/in?x=1#f") == "http hooks.example.com 8080 hooks.example.com:8080 /in?x=1")
        #expect(parts("HTTP://example.com") == "http example.com 80 example.com /")
        #expect(parts("http://example.com?q") == "http example.com 80 example.com /?q")
        #expect(parts("http://[2606:4700::1111]:81/x") == "http 2606:4700::1111 81 [2606:4700::1111]:81 /x")
        #expect(parts("https://example.com/x") == "https example.com 443 example.com /x")
        #expect(parts("ftp://example.com/x") == nil)
        #expect(parts("http://example.com:99999/") == nil)
        #expect(parts("http://:80/") == nil)
    }
}
