import NIOConcurrencyHelpers
import NIOPosix

/// Resolves host names for the SSRF checks: one look-up in flight per host, answers kept for `ttl` (a minute:
/// `getaddrinfo` tells no TTL) and failures for `failureTTL`, and every wait bounded by the caller's deadline. An
/// answer past its time is still served while a refresh runs, and for up to `maxStale` while refreshes fail, so a
/// name server that got slow or went away delays no host that resolved before. The blocking `getaddrinfo` runs on a
/// thread pool of its own, never on threads other work needs; at most `maxLookups` look-ups wait or run at once,
/// and a new host past that bound fails its attempt at once rather than queue behind names that never answer.
public final class HostResolver: Sendable {
    /// Addresses of a host, or a failure to resolve it.
    public typealias Lookup = @Sendable (String) async throws -> [TargetAddress.Address]

    public enum Answer: Sendable, Equatable {
        case addresses([TargetAddress.Address])
        case unresolvable
        /// Too many look-ups are pending (a name server that does not answer): this one was not started.
        case busy
    }

    private struct Entry {
        /// The last answer and until when it is fresh; `nil` before the first.
        var answer: Answer?
        var freshUntil: ContinuousClock.Instant
        /// When the last positive answer came (a stale one is served until `maxStale` after it).
        var answeredAt: ContinuousClock.Instant?
        /// The look-up running now, if any; callers without a usable answer wait for it.
        var lookup: Task<Answer, Never>?

        static func empty(_ now: ContinuousClock.Instant) -> Entry { Entry(answer: nil, freshUntil: now, answeredAt: nil, lookup: nil) }

        /// The positive answer that may still be served, fresh or not, while it is younger than `maxStale`.
        func servable(_ now: ContinuousClock.Instant, maxStale: Duration) -> Answer? {
            guard case .addresses? = answer, let answeredAt, now - answeredAt < maxStale else { return nil }
            return answer
        }
    }

    private struct Entries {
        var byHost: [String: Entry] = [:]
        /// Entries with a look-up running, kept as a count so the bound costs nothing per call.
        var lookups = 0
    }

    /// The process-wide resolver, with `getaddrinfo` on its own threads.
    public static let shared = HostResolver()

    static let maxEntries = 10_000
    /// Look-ups waiting or running at once, at most.
    static let maxLookups = 256
    private static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()

    private let lookup: Lookup
    private let ttl: Duration
    private let failureTTL: Duration
    private let maxStale: Duration
    private let entries = NIOLockedValueBox(Entries())

    /// A resolver; `lookup` replaces `getaddrinfo` (tests use a name server that never answers).
    public init(lookup: Lookup? = nil, ttl: Duration = .seconds(60), failureTTL: Duration = .seconds(5), maxStale: Duration = .seconds(3600)) {
        self.lookup = lookup ?? { host in try await HostResolver.threads.runIfActive { try TargetAddress.systemLookup(host) } }
        self.ttl = ttl
        self.failureTTL = failureTTL
        self.maxStale = maxStale
    }

    private enum Step {
        case answer(Answer)
        case wait(Task<Answer, Never>)
    }

    /// The answer for `host`, or `nil` when none came by `deadline`. An IP literal answers itself.
    public func resolve(_ host: String, deadline: ContinuousClock.Instant) async -> Answer? {
        if let literal = TargetAddress.literal(host) { return .addresses([literal]) }
        // A remembered answer is returned at once: this runs before every send to a named host.
        let step = entries.withLockedValue { entries -> Step in
            let now = ContinuousClock.now
            var entry = entries.byHost[host] ?? .empty(now)
            if let answer = entry.answer, entry.freshUntil > now { return .answer(answer) }
            let stale = entry.servable(now, maxStale: maxStale)
            if entry.lookup == nil {
                guard entries.lookups < Self.maxLookups else { return .answer(stale ?? .busy) }
                if entries.byHost.count >= Self.maxEntries {
                    // Forget what can no longer be served, and failures; if that is not enough, all but look-ups.
                    entries.byHost = entries.byHost.filter { $0.value.lookup != nil || $0.value.servable(now, maxStale: maxStale) != nil }
                    if entries.byHost.count >= Self.maxEntries { entries.byHost = entries.byHost.filter { $0.value.lookup != nil } }
                }
                entry.lookup = makeLookup(host)
                entries.byHost[host] = entry
                entries.lookups += 1
            }
            guard let lookup = entry.lookup, stale == nil else { return .answer(stale ?? .busy) }
            return .wait(lookup)
        }
        switch step {
        case .answer(let answer): return answer
        case .wait(let task): return await DeadlineRace.value(until: deadline) { await task.value }
        }
    }

    /// The look-up of `host`, which records its answer when it ends. A failure does not replace a positive answer
    /// that may still be served stale: the next refresh is tried after `failureTTL`.
    private func makeLookup(_ host: String) -> Task<Answer, Never> {
        let lookup = self.lookup
        return Task {
            let answer: Answer
            do {
                let addresses = try await lookup(host)
                answer = addresses.isEmpty ? .unresolvable : .addresses(addresses)
            } catch {
                answer = .unresolvable
            }
            self.entries.withLockedValue { entries in
                let now = ContinuousClock.now
                var entry = entries.byHost[host] ?? .empty(now)
                if entry.lookup != nil { entries.lookups -= 1 }
                entry.lookup = nil
                if case .addresses = answer {
                    (entry.answer, entry.freshUntil, entry.answeredAt) = (answer, now + self.ttl, now)
                } else if entry.servable(now, maxStale: self.maxStale) != nil {
                    entry.freshUntil = now + self.failureTTL
                } else {
                    (entry.answer, entry.freshUntil, entry.answeredAt) = (answer, now + self.failureTTL, nil)
                }
                entries.byHost[host] = entry
            }
            return answer
        }
    }
}
