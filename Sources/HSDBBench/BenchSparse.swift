import ArgumentParser
import Foundation
import HSDB

/// `hsdb bench sparse`: sparse (and dense) search through the embedded engine on documents
/// given as sparse vectors (one JSON object `{"indices": [...], "values": [...]}` per line,
/// Benchmarks/sparse_search.py writes BM25 weights of real texts), beside dense vectors for
/// the same points. Measures QPS and latency of the sparse query (IDF by the collection), and
/// checks every answer against an exact scorer written here.
public struct BenchSparse: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sparse", abstract: "Measure sparse search speed and exactness on sparse vectors of your data.")

    @Option(help: "Documents: one sparse vector per line (JSON: indices, values).") var docs: String
    @Option(help: "Queries: one sparse vector per line.") var queries: String
    @Option(help: "Dense vectors of the same points (.f16 or .fvecs), row i for document i.") var dense: String
    @Option(help: "Dimension of the dense vectors (needed for .f16).") var dim: Int?
    @Option(help: "Dense vectors of the queries (row i for query i): adds the dense-only and the hybrid query (dense and sparse prefetch, RRF).")
    var queryDense: String?
    @Option(help: "Results per query.") var k = 10
    @Option(help: "Where the points are when searched: engine (as loading leaves them, memtables included, no idle flush) or flushed.")
    var layout = "engine"
    @Option(help: "Runs of the query set; the fastest is reported.") var repeats = 3
    @Option(help: "Memtable size in MiB while loading (0: the engine's default; above the data set keeps every point in the memtable).")
    var memtableMb = 0
    @Option(help: "Scratch directory.") var work = NSTemporaryDirectory()
    @Flag(help: "One JSON object per line.") var json = false

    public init() {}

    public func run() async throws {
        guard ["engine", "flushed"].contains(layout) else { throw ValidationError("--layout must be engine or flushed") }
        let documents = try Self.readSparse(docs)
        let queryVectors = try Self.readSparse(queries)
        let denseFile = try VectorFile.load(dense, dimension: dim)
        guard denseFile.rows >= documents.count else { throw ValidationError("--dense has \(denseFile.rows) rows for \(documents.count) documents") }
        let directory = work + "/hsdb-bench-sparse-\(UUID().uuidString.lowercased())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = DatabaseOptions(durability: .none)
        options.idleFlushAfter = nil  // the engine layout is searched as loading left it
        if memtableMb > 0 {
            options.memtableFlushBytes = memtableMb << 20
            options.memtableStallBytes = max(options.memtableStallBytes, 4 * options.memtableFlushBytes)
        }
        let db = try await Database.open(at: directory, options: options)
        let config = CollectionConfig(dimension: denseFile.dimension, metric: .cosine, sparseVectors: ["bm25": SparseVectorParameters(modifier: .idf)])
        let c = try await db.createCollection("bench", config: config)
        let started = ContinuousClock.now
        for start in stride(from: 0, to: documents.count, by: 1024) {
            let end = min(start + 1024, documents.count)
            try await c.upsert((start..<end).map { Point(id: .integer(UInt64($0)), vector: Array(denseFile.row($0)), sparse: ["bm25": documents[$0]]) })
        }
        if layout == "flushed" { try await c.flush() }
        await c.waitForMaintenance()
        let load = seconds(ContinuousClock.now - started)
        let stats = c.statistics()
        progress("loaded \(documents.count) documents in \(format(load, 1)) s: \(stats.segments) segment(s), \(stats.points - stats.segmentPoints) point(s) in memtables")
        let exact = ExactSparse(documents)
        var mismatches = 0
        for q in queryVectors {
            let got = try c.searchSparse("bm25", q, limit: k, projection: .idsOnly).map(\.score)
            if !exact.sameScores(got, exact.top(q, k: k)) { mismatches += 1 }
        }
        let queryDenseFile = try queryDense.map { try VectorFile.load($0, dimension: denseFile.dimension) }
        var kinds: [(String, (Int) throws -> Void)] = [("sparse", { i in _ = try c.searchSparse("bm25", queryVectors[i], limit: k, projection: .idsOnly) })]
        if let queryDenseFile {
            let dense = (0..<queryVectors.count).map { Array(queryDenseFile.row($0)) }
            kinds.append(("dense", { i in _ = try c.search(dense[i], limit: k, projection: .idsOnly) }))
            kinds.append(("hybrid", { i in
                let q = Query(.fusion(.rrf(k: 60)), limit: k, prefetch: [
                    Query(.vector(dense[i]), limit: 20), Query(.sparse(queryVectors[i]), using: .sparse("bm25"), limit: 20),
                ])
                _ = try c.query(q, projection: .idsOnly)
            }))
        }
        for (kind, run) in kinds {
            var best = (qps: 0.0, p50: 0.0, p99: 0.0)
            for _ in 0..<max(repeats, 1) {
                var latencies: [Double] = []
                let t0 = ContinuousClock.now
                for i in queryVectors.indices {
                    let s = ContinuousClock.now
                    try run(i)
                    latencies.append(seconds(ContinuousClock.now - s) * 1000)
                }
                let qps = Double(queryVectors.count) / seconds(ContinuousClock.now - t0)
                latencies.sort()
                if qps > best.qps { best = (qps, latencies[latencies.count / 2], latencies[latencies.count * 99 / 100]) }
            }
            let line = "{\"kind\":\"embedded_\(kind)\",\"layout\":\"\(layout)\",\"documents\":\(documents.count),\"queries\":\(queryVectors.count),\"qps\":\(format(best.qps, 1)),\"p50_ms\":\(format(best.p50, 3)),\"p99_ms\":\(format(best.p99, 3)),\"exact_mismatches\":\(kind == "sparse" ? mismatches : 0),\"segments\":\(stats.segments),\"memtable_points\":\(stats.points - stats.segmentPoints),\"load_s\":\(format(load, 1))}"
            print(json ? line : "\(kind): \(format(best.qps, 0)) QPS, p50 \(format(best.p50, 3)) ms, p99 \(format(best.p99, 3)) ms\(kind == "sparse" ? "; \(mismatches) of \(queryVectors.count) answers differ from the exact scorer" : "")")
        }
        try await db.close()
    }

    static func readSparse(_ path: String) throws -> [SparseVector] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").enumerated().map { i, line in
            guard case .object(let o) = try JSONParser.parse(Array(line.utf8)),
                case .array(let indices)? = o["indices"], case .array(let values)? = o["values"]
            else { throw ValidationError("\(path) line \(i + 1): expected {\"indices\": [...], \"values\": [...]}") }
            return SparseVector(
                indices: indices.compactMap { if case .int(let n) = $0 { UInt32(clamping: n) } else { nil } },
                values: values.compactMap { v -> Float? in
                    switch v {
                    case .int(let n): return Float(n)
                    case .double(let d): return Float(d)
                    default: return nil
                    }
                })
        }
    }
}

/// BM25 with IDF the slow, obvious way: an index from term to documents, every query scored
/// over the documents holding one of its terms.
struct ExactSparse {
    let documents: [SparseVector]
    let postings: [UInt32: [(Int, Float)]]

    init(_ documents: [SparseVector]) {
        self.documents = documents
        var postings: [UInt32: [(Int, Float)]] = [:]
        for (d, v) in documents.enumerated() { for (t, x) in zip(v.indices, v.values) { postings[t, default: []].append((d, x)) } }
        self.postings = postings
    }

    func top(_ q: SparseVector, k: Int) -> [Float] {
        let n = Double(documents.count)
        var scores: [Int: Float] = [:]
        for (t, w) in zip(q.indices, q.values) {
            let list = postings[t] ?? []
            let df = Double(list.count)
            let weight = w * Float(log(1 + (n - df + 0.5) / (df + 0.5)))
            for (d, x) in list { scores[d, default: 0] += weight * x }
        }
        return Array(scores.values.sorted(by: >).prefix(k))
    }

    /// Scores equal within float rounding (ties may order ids either way; scores must agree).
    func sameScores(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-3 * max(1, abs($1)) }
    }
}
