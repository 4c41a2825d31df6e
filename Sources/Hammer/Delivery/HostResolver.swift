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

    private struct Entry {
        var lookup: Task<Answer, Never>
        /// When the answer may no longer be used; `nil` while the look-up runs.
        var expires: ContinuousClock.Instant?
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
        let task = entries.withLockedValue { entries -> Task<Answer, Never> in
            let now = ContinuousClock.now
            if let entry = entries[host], entry.expires.map({ $0 > now }) ?? true { return entry.lookup }
            if entries.count >= Self.maxEntries { entries = entries.filter { $0.value.expires == nil } }
            let lookup = self.lookup
            let task = Task {
                let answer: Answer
                do {
                    let addresses = try await lookup(host)
                    answer = addresses.isEmpty ? .unresolvable : .addresses(addresses)
                } catch {
                    answer = .unresolvable
                }
                self.entries.withLockedValue { $0[host]?.expires = .now + self.ttl }
                return answer
            }
            entries[host] = Entry(lookup: task, expires: nil)
            return task
        }
        return await DeadlineRace.value(until: deadline) { await task.value }
    }
}
