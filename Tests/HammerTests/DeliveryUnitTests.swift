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
        let headers = [("Content-Type", "application/json")]
        #expect(
            WebhookSender.requestDump(url: "https://example.com:8443/a/b?c=d#frag", headers: headers, body: "{}")
                == "POST /a/b?c=d HTTP/1.1\r\nHost: example.com:8443\r\nContent-Type: application/json\r\n\r\n{}"
        )
        #expect(
            WebhookSender.requestDump(url: "http://user:pw@example.com", headers: [], body: "")
                == "POST / HTTP/1.1\r\nHost: example.com\r\n\r\n"
        )
        #expect(WebhookSender.requestDump(url: "http://example.com?x=1", headers: [], body: "").hasPrefix("POST /?x=1 HTTP/1.1\r\n"))
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
        #expect(TargetAddress.host(of: "http://[::1]:8080/x") == "::1")
    }

    @Test func requestsArePinnedToTheCheckedAddress() throws {
        let v4 = try #require(TargetAddress.literal("93.184.216.34"))
        let v6 = try #require(TargetAddress.literal("2606:4700::1111"))
        let pinned = try #require(TargetAddress.pin("http://user:pw@hooks.example.com:8080/in?x=1#f", to: v4))
        #expect(pinned.url == "http://93.184.216.34:8080/in?x=1#f")
        #expect(pinned.host == "hooks.example.com:8080")
        #expect(TargetAddress.pin("HTTP://example.com", to: v4)?.url == "http://93.184.216.34")
        #expect(TargetAddress.pin("http://example.com?q", to: v6)?.url == "http://[2606:4700:0:0:0:0:0:1111]?q")
        #expect(TargetAddress.pin("http://[2606:4700::1111]:81/x", to: v6)?.host == "[2606:4700::1111]:81")
        #expect(TargetAddress.pin("https://example.com/x", to: v4)?.url == "https://93.184.216.34/x")
        #expect(TargetAddress.pin("ftp://example.com/x", to: v4) == nil)
    }
}
