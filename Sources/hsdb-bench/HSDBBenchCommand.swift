import ArgumentParser
import HSDBBench

/// `hsdb-bench search ...` is `hsdb bench search ...` without the server linked in (the
/// recall test builds it in release mode, which stays short).
@main
struct HSDBBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hsdb-bench", abstract: "hsdb's benchmarks, as `hsdb bench`.", subcommands: [BenchSearch.self])
}
