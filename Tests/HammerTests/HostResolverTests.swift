import Foundation
import Testing

@testable import Hammer

/// The send-time resolver against a name server stub that never answers for one host.
@Suite struct HostResolverTests {
    /// Counts look-ups per host; `stuck.test` never answers.
    actor StubNameServer {
        var lookups: [String: Int] = [:]

        func lookup(_ host: String) async throws -> [TargetAddress.Address] {
            lookups[host, default: 0] += 1
            if host == "stuck.test" {
                try await Task.sleep(for: .seconds(3600))
            }
            if host == "missing.test" { throw CancellationError() }
            return [.v4([93, 184, 216, 34])]
        }
    }

    @Test func aHostWhoseLookupNeverAnswersBlocksNeitherOtherHostsNorItsCallersPastTheirDeadline() async throws {
        let stub = StubNameServer()
        let resolver = HostResolver(lookup: { try await stub.lookup($0) })
        let started = ContinuousClock.now
        async let stuck = resolver.resolve("stuck.test", deadline: .now + .milliseconds(300))
        async let stuckAgain = resolver.resolve("stuck.test", deadline: .now + .milliseconds(300))
        let other = await resolver.resolve("fine.test", deadline: .now + .seconds(5))
        #expect(other == .addresses([.v4([93, 184, 216, 34])]))
        #expect(ContinuousClock.now - started < .milliseconds(250))
        #expect(await stuck == nil)
        #expect(await stuckAgain == nil)
        #expect(ContinuousClock.now - started < .seconds(1))
        // One look-up in flight per host, however many callers wait for it.
        #expect(await stub.lookups["stuck.test"] == 1)
    }

    @Test func answersAndFailuresAreRemembered() async throws {
        let stub = StubNameServer()
        let resolver = HostResolver(lookup: { try await stub.lookup($0) })
        for _ in 0..<3 {
            #expect(await resolver.resolve("fine.test", deadline: .now + .seconds(5)) == .addresses([.v4([93, 184, 216, 34])]))
            #expect(await resolver.resolve("missing.test", deadline: .now + .seconds(5)) == .unresolvable)
        }
        #expect(await stub.lookups == ["fine.test": 1, "missing.test": 1])
        #expect(await resolver.resolve("10.0.0.1", deadline: .now) == .addresses([.v4([10, 0, 0, 1])]))
    }

    @Test func aSendWhoseHostNeverResolvesTimesOutAtTheAttemptDeadline() async throws {
        let stub = StubNameServer()
        let sender = WebhookSender(
            maxResponseBodyBytes: 1024,
            allowPrivateTargets: false,
            resolver: HostResolver(lookup: { try await stub.lookup($0) })
        )
        let delivery = ClaimedDelivery.sample(url: "http://stuck.test/hook")
        let started = ContinuousClock.now
        let result = await sender.send(delivery)
        await sender.shutdown()
        #expect(result.errorKind == .timeout)
        #expect(ContinuousClock.now - started < .milliseconds(1500))
    }
}
