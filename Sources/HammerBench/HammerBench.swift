import ArgumentParser
import Foundation

@main
struct HammerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hammer-bench",
        abstract: "Benchmarks hammer end to end on this machine (make bench).",
        subcommands: [Run.self, Sink.self],
        defaultSubcommand: Run.self)
}

/// Progress lines reach a pipe or file at once.
func progress(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
