import Foundation
import NIOSSL
import Testing

@testable import Hammer

/// https goes to the address the send-time check resolved (pinned like http), with the URL's host as the TLS
/// server name and the name the certificate must carry: DNS cannot move a request after its check.
@Suite struct TLSPinningTests {
    /// Every name resolves to 127.0.0.1, as a rebinding name server would answer.
    static let resolver = HostResolver(lookup: { _ in [.v4([127, 0, 0, 1])] })

    static func delivery(_ url: String) -> ClaimedDelivery {
        ClaimedDelivery(
            id: ULID.make(),
            topicID: "t",
            subscriptionID: "s",
            messageID: ULID.make(),
            contentType: "application/json",
            dataBase64: "e30=",
            publishedAt: Date(),
            url: url,
            secretToken: "secret",
            maxDeliveryAttempts: 1,
            deliveryAttemptDelay: 1,
            deliveryAttemptTimeout: 5,
            deliveryAttempts: 0,
            lease: 0
        )
    }

    static func sender(trusting receiver: TLSReceiver, allowPrivateTargets: Bool) -> WebhookSender {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([receiver.certificate])
        return WebhookSender(maxResponseBodyBytes: 1024, allowPrivateTargets: allowPrivateTargets, resolver: resolver, tlsConfiguration: tls)
    }

    @Test func httpsConnectsToTheCheckedAddressAndVerifiesTheURLsHost() async throws {
        let receiver = try await TLSReceiver.start(name: "hooks.test")
        let sender = Self.sender(trusting: receiver, allowPrivateTargets: true)
        let good = await sender.send(Self.delivery("https://hooks.test:\(receiver.port)/hook"))
        #expect(good.success, "\(good.error)")
        #expect(good.statusCode == 200)
        #expect(receiver.receivedHosts == ["hooks.test:\(receiver.port)"])
        // The same address under a name the certificate does not carry: refused by certificate verification.
        let wrongName = await sender.send(Self.delivery("https://other.test:\(receiver.port)/hook"))
        #expect(!wrongName.success)
        #expect(wrongName.errorKind == .tls, "\(wrongName.error)")
        #expect(receiver.receivedHosts.count == 1)
        await sender.shutdown()
        await receiver.stop()
    }

    @Test func aNameThatResolvesToAPrivateAddressGetsNoConnectionAtAll() async throws {
        let receiver = try await TLSReceiver.start(name: "hooks.test")
        let sender = Self.sender(trusting: receiver, allowPrivateTargets: false)
        let result = await sender.send(Self.delivery("https://hooks.test:\(receiver.port)/hook"))
        #expect(result.errorKind == .blockedTarget)
        #expect(!result.error.contains("127.0.0.1"))
        // Not even a ClientHello: an internal port cannot be probed through the error kinds.
        #expect(receiver.connectionCount == 0)
        await sender.shutdown()
        await receiver.stop()
    }
}
