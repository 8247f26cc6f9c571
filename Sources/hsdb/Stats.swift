import ArgumentParser
import HSDB
import HSDBCore

/// `hsdb stats`: points, segments, memtable and WAL figures per collection.
struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show statistics of every collection (or one).")

    @Option(name: .long, help: "Database directory.")
    var data = "./hsdb-data"

    @Option(name: .long, help: "Only this collection.")
    var collection: String?

    @Flag(name: .long, help: "Print JSON (one object per collection, one per line).")
    var json = false

    func run() async throws {
        let db = try await OperatorCommand.open(data, command: "stats")
        for c in try OperatorCommand.collections(db, named: collection) {
            let s = c.statistics()
            let fields: [(String, JSONValue)] = [
                ("collection", .string(c.name)), ("dimension", .int(Int64(c.config.dimension))), ("metric", .string("\(c.config.metric)")),
                ("points", .int(Int64(s.points))), ("segments", .int(Int64(s.segments))), ("segment_points", .int(Int64(s.segmentPoints))),
                ("segment_bytes", .int(Int64(s.segmentBytes))), ("memtable_bytes", .int(Int64(s.memtableBytes))),
                ("unflushed_bytes", .int(Int64(s.unflushedBytes))), ("applied_lsn", .int(Int64(s.appliedLSN))),
                ("flushed_lsn", .int(Int64(s.flushedLSN))), ("payload_indexes", .int(Int64(c.payloadIndexes.count))),
            ]
            if json {
                print(JSONValue.object(Dictionary(uniqueKeysWithValues: fields)).description)
            } else {
                print(fields.map { "\($0.0)=\($0.1.description.trimmingCharacters(in: ["\""]))" }.joined(separator: " "))
            }
        }
        try await db.close()
    }
}
