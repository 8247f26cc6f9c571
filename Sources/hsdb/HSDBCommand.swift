import ArgumentParser
import HSDBBench
import HSDB
import HSDBServer

@main
struct HSDBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hsdb",
        abstract: "hsdb: a log-structured storage engine and database for vectors.",
        version: HSDBVersion.string,
        subcommands: [Serve.self, Collections.self, Stats.self, Verify.self, Compact.self, Import.self, BackupCommand.self, Restore.self, Replica.self, Bench.self],
        defaultSubcommand: Serve.self)
}

