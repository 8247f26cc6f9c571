import ArgumentParser
import HSDB

/// `hsdb compact`: flushes every memtable and merges each collection's segments into one,
/// dropping deleted and overwritten points.
struct Compact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Flush and merge each collection's segments into one.")

    @Option(name: .long, help: "Database directory.")
    var data = "./hsdb-data"

    @Option(name: .long, help: "Only this collection.")
    var collection: String?

    func run() async throws {
        let db = try await OperatorCommand.open(data, command: "compact")
        for c in try OperatorCommand.collections(db, named: collection) {
            let before = c.statistics()
            try await c.flush()
            try await c.compact()
            let after = c.statistics()
            print("\(c.name): \(before.segments) segment(s) + \(before.unflushedBytes) unflushed bytes -> \(after.segments) segment(s), \(after.segmentBytes) bytes")
        }
        try await db.close()
    }
}
