import ArgumentParser

/// `hsdb bench`: measurements for users and for us.
public struct Bench: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Benchmarks on your data.", subcommands: [BenchSearch.self, BenchSparse.self, BenchNamed.self])

    public init() {}
}
