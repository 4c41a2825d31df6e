import Foundation

struct TimedOut: Error, CustomStringConvertible {
    let description: String
}

/// Re-checks `condition` until it holds, failing after `timeout`: for state that changes in another process
/// or task (the database, a worker), awaited rather than slept for.
func eventually(
    timeout: Duration = .seconds(20),
    _ what: String = "condition",
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return }
        if ContinuousClock.now > deadline { throw TimedOut(description: "timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}
