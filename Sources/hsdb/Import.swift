import ArgumentParser
import HSDBBench
import Foundation
import HSDB
import HSDBCore
import Index

/// `hsdb import`: loads vectors from a file (.fvecs, .f16, .npy) with optional payloads from a
/// JSON Lines file (line i is the payload of vector i), as points with ids start-id, start-id+1, ...
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Import vectors (.fvecs, .f16, .npy) and JSONL payloads into a collection.")

    @Option(name: .long, help: "Database directory (created if missing).")
    var data = "./hsdb-data"

    @Option(name: .long, help: "Collection (created if missing, with --metric and the file's dimension).")
    var collection: String

    @Option(name: .long, help: "Vector file: .fvecs, .f16 (needs --dim) or .npy.")
    var vectors: String

    @Option(name: .long, help: "Payloads: one JSON object per line, in vector order.")
    var payloads: String?

    @Option(name: .long, help: "Dimension (required for .f16).")
    var dim: Int?

    @Option(name: .long, help: "Metric for a new collection: cosine, dot or euclid.")
    var metric = "cosine"

    @Option(name: .long, help: "Id of the first vector.")
    var startId: UInt64 = 0

    @Option(name: .long, help: "Points per write (one WAL record each).")
    var batch = 1000

    func run() async throws {
        guard let metricValue = Metric(name: metric) else { throw ValidationError("unknown metric '\(metric)': use cosine, dot or euclid") }
        guard (1...100_000).contains(batch) else { throw ValidationError("--batch must be between 1 and 100000") }
        let file: VectorFile
        do { file = try VectorFile.load(vectors, dimension: dim) } catch { OperatorCommand.fail("hsdb import: \(error)", code: 1) }
        let payloadLines = try payloads.map { try Self.readPayloads($0, expected: file.rows) }
        var options = DatabaseOptions()
        options.createIfMissing = true
        let db: Database
        do { db = try await Database.open(at: data, options: options) } catch HSDBError.databaseLocked(_, let pid) {
            OperatorCommand.fail("hsdb import: \(data) is in use by \(pid.map { "process \($0)" } ?? "another process"); stop it first, or upsert over HTTP", code: 2)
        }
        let exists = try db.listCollections().contains { $0.name == collection }
        let target = exists ? try db.collection(collection) : try await db.createCollection(collection, config: CollectionConfig(dimension: file.dimension, metric: metricValue))
        guard target.config.dimension == file.dimension else {
            OperatorCommand.fail("hsdb import: \(vectors) has dimension \(file.dimension); collection '\(collection)' has \(target.config.dimension)", code: 1)
        }
        var progress = ProgressBar(total: file.rows, label: "importing \(file.rows) vectors into '\(collection)'")
        var start = 0
        while start < file.rows {
            let end = min(start + batch, file.rows)
            let points = (start..<end).map { i in
                Point(id: .integer(startId + UInt64(i)), vector: Array(file.row(i)), payload: payloadLines?[i] ?? [:])
            }
            try await target.upsert(points)
            start = end
            progress.update(start)
        }
        progress.finish()
        try await db.close()
        print("imported \(file.rows) points into '\(collection)' (ids \(startId)...\(startId + UInt64(max(file.rows, 1)) - 1))")
    }

    static func readPayloads(_ path: String, expected: Int) throws -> [Payload] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { OperatorCommand.fail("hsdb import: cannot read \(path): \(error.localizedDescription)", code: 1) }
        var result: [Payload] = []
        result.reserveCapacity(expected)
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (n, line) in lines.enumerated() where !(n == lines.count - 1 && line.isEmpty) {
            let value: JSONValue
            do { value = try JSONParser.parse(Array(line)) } catch { OperatorCommand.fail("hsdb import: \(path) line \(n + 1): \(error)", code: 1) }
            guard case .object(let o) = value else {
                OperatorCommand.fail("hsdb import: \(path) line \(n + 1): a payload must be a JSON object", code: 1)
            }
            result.append(o)
        }
        guard result.count == expected else {
            OperatorCommand.fail("hsdb import: \(path) has \(result.count) payload lines for \(expected) vectors", code: 1)
        }
        return result
    }
}

/// A one-line progress bar on standard error, redrawn at most every 1%.
struct ProgressBar {
    let total: Int
    let started = ContinuousClock.now
    private var lastPercent = -1

    init(total: Int, label: String) {
        self.total = total
        FileHandle.standardError.write(Data((label + "\n").utf8))
    }

    mutating func update(_ done: Int) {
        let percent = total == 0 ? 100 : done * 100 / total
        guard percent != lastPercent else { return }
        lastPercent = percent
        let seconds = max((ContinuousClock.now - started) / .seconds(1), 1e-9)
        let width = 30
        let filled = width * percent / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(percent)% \(done)/\(total) \(Int(Double(done) / seconds))/s".utf8))
    }

    func finish() { FileHandle.standardError.write(Data("\n".utf8)) }
}
