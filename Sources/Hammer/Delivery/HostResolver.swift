import NIOConcurrencyHelpers
import NIOPosix

/// Resolves host names for the SSRF checks: one look-up in flight per host, answers (failures included)
/// remembered for a few seconds, and every wait bounded by the caller's deadline. The blocking `getaddrinfo`
/// runs on a small thread pool of its own, so a name server that never answers holds one of those threads per
/// host, never the threads that other work needs, and never a caller past its deadline.
public final class HostResolver: Sendable {
    /// Addresses of a host, or a failure to resolve it.
    public typealias Lookup = @Sendable (String) async throws -> [TargetAddress.Address]

    public enum Answer: Sendable, Equatable {
        case addresses([TargetAddress.Address])
        case unresolvable
    }

    private enum Entry {
        /// The look-up runs; callers wait for it, each until its own deadline.
        case looking(Task<Answer, Never>)
        /// The answer, usable until `expires`.
        case answered(Answer, expires: ContinuousClock.Instant)
    }

    /// The process-wide resolver, with `getaddrinfo` on its own threads.
    public static let shared = HostResolver()

    static let maxEntries = 10_000
    private static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        return pool
    }()

    private let lookup: Lookup
    private let ttl: Duration
    private let entries = NIOLockedValueBox<[String: Entry]>([:])

    /// A resolver; `lookup` replaces `getaddrinfo` (tests use a name server that never answers).
    public init(lookup: Lookup? = nil, ttl: Duration = .seconds(5)) {
        self.lookup = lookup ?? { host in try await HostResolver.threads.runIfActive { try TargetAddress.systemLookup(host) } }
        self.ttl = ttl
    }

    /// The answer for `host`, or `nil` when none came by `deadline`. An IP literal answers itself.
    public func resolve(_ host: String, deadline: ContinuousClock.Instant) async -> Answer? {
        if let literal = TargetAddress.literal(host) { return .addresses([literal]) }
        // A remembered answer is returned at once: this runs before every send to a named host.
        let entry = entries.withLockedValue { entries -> Entry in
            switch entries[host] {
            case .looking(let task)?: return .looking(task)
            case .answered(let answer, let expires)? where expires > .now: return .answered(answer, expires: expires)
            case .answered?, nil:
                if entries.count >= Self.maxEntries { entries = entries.filter { if case .looking = $0.value { true } else { false } } }
                let entry = Entry.looking(makeLookup(host))
                entries[host] = entry
                return entry
            }
        }
        switch entry {
        case .answered(let answer, _): return answer
        case .looking(let task): return await DeadlineRace.value(until: deadline) { await task.value }
        }
    }

    /// The look-up of `host`, which records its answer when it ends.
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
            self.entries.withLockedValue { $0[host] = .answered(answer, expires: .now + self.ttl) }
            return answer
        }
    }
}
