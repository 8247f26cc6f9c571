import ArgumentParser

/// `hsdb bench`: measurements for users and for us.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks on your data.", subcommands: [BenchSearch.self])
}
