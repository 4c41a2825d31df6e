import Foundation
import Testing

@testable import Hammer

/// The send-time resolver against a name server stub that never answers for one host.
@Suite struct HostResolverTests {
    /// Counts look-ups per host; `stuck.test` never answers.
    actor StubNameServer {
        var lookups: [String: Int] = [:]
        /// Drops every query from now on (a name server gone away): no look-up answers.
        var down = false

        func goDown() { down = true }

        func lookup(_ host: String) async throws -> [TargetAddress.Address] {
            lookups[host, default: 0] += 1
            if host == "stuck.test" || host.hasPrefix("dropped-") || down {
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

    @Test func anAnswerPastItsTimeIsServedWhileRefreshesHangAndManyDroppedNamesBlockNoOtherHost() async throws {
        let stub = StubNameServer()
        let resolver = HostResolver(lookup: { try await stub.lookup($0) }, ttl: .milliseconds(50))
        let good = TargetAddress.Address.v4([93, 184, 216, 34])
        #expect(await resolver.resolve("good.test", deadline: .now + .seconds(5)) == .addresses([good]))
        // Many names whose queries are dropped: their look-ups hang, each callers' wait ends at its deadline.
        func dropNames(_ range: Range<Int>) async {
            await withTaskGroup(of: Void.self) { group in
                for n in range {
                    group.addTask {
                        // No answer by the deadline, or refused at once past the bound on pending look-ups.
                        let answer = await resolver.resolve("dropped-\(n).test", deadline: .now + .milliseconds(100))
                        #expect(answer == nil || answer == .busy, "\(String(describing: answer))")
                    }
                }
            }
        }
        await dropNames(0..<200)
        // Then the name server goes away altogether; the good name's answer is past its time.
        await stub.goDown()
        try await Task.sleep(for: .milliseconds(60))
        let started = ContinuousClock.now
        for _ in 0..<5 {
            #expect(await resolver.resolve("good.test", deadline: .now + .seconds(5)) == .addresses([good]))
        }
        #expect(ContinuousClock.now - started < .milliseconds(100))
        // One refresh in flight for the good name, however many sends asked.
        let refreshStarted = ContinuousClock.now
        while await stub.lookups["good.test"] != 2, ContinuousClock.now - refreshStarted < .seconds(2) { await Task.yield() }
        #expect(await stub.lookups["good.test"] == 2)
        // A new name past the bound on pending look-ups fails at once instead of queueing behind the dropped ones.
        await dropNames(200..<300)
        #expect(await resolver.resolve("new.test", deadline: .now + .seconds(5)) == .busy)
        #expect(await resolver.resolve("good.test", deadline: .now + .seconds(5)) == .addresses([good]))
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
