import ArgumentParser
import Foundation
import HSDB

/// `hsdb bench named`: the cost of a second named dense vector. Loads the same points into a
/// collection with one vector and into one with two (the second: each row's values reversed,
/// as different as another embedding of the same dimension), durably (fsync), in batches;
/// times the writes and the flush that indexes them (codes and graphs), then searches the
/// second vector of the two-vector collection and the one vector of the other with the same
/// queries: QPS and recall@k against exact search.
public struct BenchNamed: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "named", abstract: "Measure what a second named dense vector costs to ingest and to search.")

    @Option(help: "Vectors (.f16 or .fvecs).") var base: String
    @Option(help: "Dimension of the vectors (needed for .f16).") var dim: Int?
    @Option(help: "Points to load.") var points = 50_000
    @Option(help: "Points per upsert.") var batch = 256
    @Option(help: "Queries (rows after the loaded points).") var queries = 500
    @Option(help: "Results per query.") var k = 10
    @Option(help: "Scratch directory.") var work = NSTemporaryDirectory()
    @Flag(help: "One JSON object per line.") var json = false

    public init() {}

    public func run() async throws {
        let file = try VectorFile.load(base, dimension: dim)
        guard file.rows >= points + queries else { throw ValidationError("--base has \(file.rows) rows, fewer than points + queries") }
        let directory = work + "/hsdb-bench-named-\(UUID().uuidString.lowercased())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = DatabaseOptions(durability: .fsync)
        options.idleFlushAfter = nil
        let db = try await Database.open(at: directory, options: options)
        let d = file.dimension
        let one = try await db.createCollection("one", config: CollectionConfig(dimension: d))
        let two = try await db.createCollection(
            "two", config: CollectionConfig(dimension: d, namedVectors: [NamedVectorConfig(name: "second", dimension: d)]))
        var results: [(String, Double, Double)] = []
        for (name, c, second) in [("one vector", one, false), ("two vectors", two, true)] {
            let started = ContinuousClock.now
            for start in stride(from: 0, to: points, by: batch) {
                try await c.upsert((start..<min(start + batch, points)).map { i in
                    let v = Array(file.row(i))
                    return Point(id: .integer(UInt64(i)), vector: v, named: second ? ["second": v.reversed()] : [:])
                })
            }
            let written = seconds(ContinuousClock.now - started)
            try await c.flush()
            await c.waitForMaintenance()
            let indexed = seconds(ContinuousClock.now - started)
            results.append((name, written, indexed))
            progress("\(name): \(points) points written in \(format(written, 2)) s, indexed after \(format(indexed, 2)) s")
        }
        let query = (0..<queries).map { Array(file.row(points + $0)) }
        let searches = [("one vector", one, 0, query), ("second of two", two, 1, query.map { Array($0.reversed()) })]
        for (name, c, lane, qs) in searches {
            let truth = try qs.map { try c.search($0, lane: lane, limit: k, projection: .idsOnly, parameters: SearchParameters(exact: true)).map(\.id) }
            var best = Double.infinity
            var found = 0
            for _ in 0..<3 {
                let started = ContinuousClock.now
                found = 0
                for (q, t) in zip(qs, truth) { found += Set(try c.search(q, lane: lane, limit: k, projection: .idsOnly).map(\.id)).intersection(t).count }
                best = min(best, seconds(ContinuousClock.now - started))
            }
            let qps = Double(qs.count) / best, recall = Double(found) / Double(qs.count * k)
            let line = "{\"kind\":\"named_search\",\"vector\":\"\(name)\",\"qps\":\(format(qps, 1)),\"recall\":\(format(recall, 4))}"
            print(json ? line : "search \(name): \(format(qps, 0)) QPS, recall@\(k) \(format(recall, 4))")
        }
        for (name, written, indexed) in results {
            let line = "{\"kind\":\"named_ingest\",\"vectors\":\"\(name)\",\"points\":\(points),\"write_s\":\(format(written, 3)),\"indexed_s\":\(format(indexed, 3))}"
            print(json ? line : "ingest \(name): \(format(Double(points) / written, 0) ) points/s written, \(format(Double(points) / indexed, 0)) points/s indexed")
        }
        let ratio = (results[1].1 / results[0].1, results[1].2 / results[0].2)
        print(json ? "{\"kind\":\"named_ratio\",\"write\":\(format(ratio.0, 3)),\"indexed\":\(format(ratio.1, 3))}"
            : "two vectors cost \(format(ratio.0, 2))x one to write, \(format(ratio.1, 2))x to write and index")
        try await db.close()
    }
}
