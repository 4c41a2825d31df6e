import ArgumentParser
import Foundation

@main
struct HammerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hammer-bench",
        abstract: "Benchmarks (make bench) and fault injection (make chaos) for hammer, on this machine.",
        subcommands: [Run.self, Sink.self, Chaos.self],
        defaultSubcommand: Run.self
    )
}

/// Progress lines reach a pipe or file at once.
func progress(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
