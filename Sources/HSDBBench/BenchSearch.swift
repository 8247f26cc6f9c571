import ArgumentParser
import Dispatch
import Foundation
import HSDB
import Synchronization

/// `hsdb bench search`: loads a data set through the real engine into a temporary database
/// (upserts, flushes, compactions as the engine does them), reopens it so searches run from
/// mapped segments, and measures recall@k, QPS and latency for each search setting.
public struct BenchSearch: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Measure search recall, speed and memory on a data set with ground truth.")

    @Option(help: "Base vectors (.fvecs or .f16).") var base: String
    @Option(help: "Query vectors (.fvecs or .f16).") var queries: String
    @Option(help: "Ground truth: ids of each query's nearest neighbours, nearest first (.ivecs).") var truth: String
    @Option(help: "Dimension (needed for .f16 files).") var dim: Int?
    @Option(help: "cosine, dot or euclid.") var metric = "cosine"
    @Option(help: "Neighbours per query (recall@k).") var k = 10
    @Option(help: "Graph beam widths to try, comma-separated; 0 = the engine's default.") var ef = "16,32,64,128,256"
    @Option(help: "Binary-code traversal with exact rescoring of k x F candidates, comma-separated factors; 0 = exact traversal, auto = the engine's default.")
    var oversampling = "auto"
    @Option(help: "Search threads.") var threads = 1
    @Option(help: "Runs of each setting; the fastest is reported (the machine is shared: the best run is the least disturbed).")
    var repeats = 1
    @Option(help: "Use only the first N base vectors (0: all).") var limitBase = 0
    @Option(help: "HNSW M.") var m = 16
    @Option(help: "HNSW ef_construction.") var efConstruction = 200
    @Flag(help: "Merge everything into one segment before searching (one graph, as single-index peers); as --layout single.")
    var singleSegment = false
    @Option(help: "Where the points are when searched: flushed (every point in segments, reopened), single (one merged segment), engine (as the engine leaves them after loading: background flushes and merges finish, then the idle flush of the last memtable; nothing by hand, no reopen), fresh (as engine, but searched right after the background flushes, before the idle flush: memtables included).")
    var layout = "flushed"
    @Option(help: "Segments with at most this many points are searched by a code scan, larger ones by their graph (default: the engine's).")
    var codeScanPoints: Int?
    @Option(help: "Give every point the payload {\"bucket\": id % 100} (indexed) and search only the points with bucket below this fraction x 100 (0.1: 10% of the points), against the exact neighbours among them.")
    var filterFraction: Double?
    @Flag(help: "Merges build their graphs from nothing (by default a merge starts from its largest input's graph).")
    var fullMergeBuilds = false
    @Flag(help: "Search the layers of a collection on one core (by default a search running alone splits them over two).")
    var noParallel = false
    @Option(help: "Memtable size in MiB while loading (0: the engine's default); with --layout fresh, a size above the data set keeps every point in the memtable.")
    var memtableMb = 0
    @Option(help: "Scratch directory (a fresh database is made inside and removed after).") var work = NSTemporaryDirectory()
    @Flag(help: "One JSON object per setting per line.") var json = false
    @Option(help: "Keep the database in this directory: load it there if it holds no collection 'bench' yet, else search it as it is (to compare with `hsdb serve` over the same files).")
    var database: String?

    public init() {}

    public func run() async throws {
        guard let metric = Metric(name: metric) else { throw ValidationError("unknown metric '\(self.metric)'") }
        let efs = try parseList(ef, "ef")
        let factors: [Int?] = try oversampling.split(separator: ",").map { item in
            if item == "auto" { return nil }
            guard let f = Int(item), f >= 0 else { throw ValidationError("--oversampling must list integers or auto") }
            return f
        }
        guard k >= 1, threads >= 1 else { throw ValidationError("--k and --threads must be at least 1") }
        guard ["flushed", "single", "engine", "fresh"].contains(layout) else { throw ValidationError("--layout must be flushed, single, engine or fresh") }
        let layout = singleSegment ? "single" : layout
        let loadedLayout = layout == "engine" || layout == "fresh"
        if loadedLayout && database != nil { throw ValidationError("--layout \(layout) searches the database it loads; it cannot take --database") }
        let queryFile: VectorFile
        let evaluator: RecallEvaluator
        let directory = database ?? work + "/hsdb-bench-\(UUID().uuidString.lowercased())"
        defer { if database == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let reuse = database != nil && FileManager.default.fileExists(atPath: directory + "/collections/bench")
        var buildSeconds = 0.0
        var loaded: Database?
        do {  // the base set lives only in this scope, so it is not counted in RssAnon below
            var baseFile = try VectorFile.load(base, dimension: dim)
            let limited = limitBase > 0 && limitBase < baseFile.rows
            if limited {
                baseFile = VectorFile(rows: limitBase, dimension: baseFile.dimension, values: Array(baseFile.values.prefix(limitBase * baseFile.dimension)))
            }
            queryFile = try VectorFile.load(queries, dimension: baseFile.dimension)
            var truthFile = try VectorFile.load(truth, dimension: nil)
            if limited || filterFraction != nil {
                progress("computing the exact ground truth of the \(filterFraction.map { "\(Int($0 * 100))% of the " } ?? "first \(limitBase) ")base vectors searched")
                let buckets = filterFraction.map { Int(($0 * 100).rounded()) }
                truthFile = VectorFile.exactNeighbors(
                    of: queryFile, in: baseFile, k: max(k, 10), metric: metric, where: { row in buckets.map { row % 100 < $0 } ?? true })
            }
            guard truthFile.rows >= queryFile.rows, truthFile.dimension >= k else {
                throw ValidationError("the ground truth has \(truthFile.rows) rows of \(truthFile.dimension); need \(queryFile.rows) of at least \(k)")
            }
            evaluator = RecallEvaluator(base: baseFile, truth: truthFile, queries: queryFile, k: k, metric: metric)
            let config = CollectionConfig(dimension: baseFile.dimension, metric: metric, hnswM: m, hnswEfConstruction: efConstruction)
            var loadOptions = DatabaseOptions(durability: .none)
            if memtableMb > 0 {
                loadOptions.memtableFlushBytes = memtableMb << 20
                loadOptions.memtableStallBytes = max(loadOptions.memtableStallBytes, 4 * loadOptions.memtableFlushBytes)
            }
            loadOptions.verifySegmentsOnOpen = false
            if layout == "fresh" { loadOptions.idleFlushAfter = nil }
            if let codeScanPoints { loadOptions.codeScanPoints = codeScanPoints }
            if noParallel { loadOptions.parallelSegmentSearch = false }
            if fullMergeBuilds { loadOptions.mergeCarriesGraph = false }
            let started = ContinuousClock.now
            if reuse {
                progress("searching the existing database in \(directory)")
            } else {
                loaded = try await load(baseFile, into: directory, config: config, options: loadOptions, layout: layout)
                buildSeconds = seconds(ContinuousClock.now - started)
            }
        }

        var searchOptions = DatabaseOptions()
        searchOptions.verifySegmentsOnOpen = false
        searchOptions.compaction.enabled = false
        searchOptions.idleFlushAfter = nil  // searched as they are
        if let codeScanPoints { searchOptions.codeScanPoints = codeScanPoints }
        if noParallel { searchOptions.parallelSegmentSearch = false }
        let db: Database
        if let loaded { db = loaded } else { db = try await Database.open(at: directory, options: searchOptions) }
        let collection = try db.collection("bench")
        let stats = collection.statistics()
        let diskBytes = directorySize(directory)
        let memtablePoints = stats.points - stats.segmentPoints
        progress("statistics: \(stats)")
        progress("\(loaded == nil ? "reopened" : "as loaded"): \(stats.points) points, \(max(memtablePoints, 0)) in memtables, \(stats.segments) segment(s) of \(stats.segmentBytes / 1_000_000) MB (\(diskBytes / 1_000_000) MB on disk with the retained WAL), build \(String(format: "%.1f", buildSeconds)) s")
        if !json {
            print("ef\toversampling\trecall@\(k)\tQPS\tp50 ms\tp99 ms")
        }
        for factor in factors {
            for e in efs {
                let parameters = SearchParameters(ef: e == 0 ? nil : e, binaryOversampling: factor)
                let factorText = factor.map(String.init) ?? "auto"
                var result = try measure(collection, queryFile, parameters, evaluator)
                for _ in 1..<max(repeats, 1) {
                    let again = try measure(collection, queryFile, parameters, evaluator)
                    if again.qps > result.qps { result = again }
                }
                let rss = anonymousResidentBytes()
                if json {
                    print(
                        "{\"ef\":\(e),\"oversampling\":\"\(factorText)\",\"recall\":\(format(result.recall, 4)),\"qps\":\(format(result.qps, 1)),\"p50_ms\":\(format(result.p50, 3)),\"p99_ms\":\(format(result.p99, 3)),\"build_s\":\(format(buildSeconds, 2)),\"disk_bytes\":\(diskBytes),\"segment_bytes\":\(stats.segmentBytes),\"rss_anon_bytes\":\(rss),\"segments\":\(stats.segments),\"memtable_points\":\(max(memtablePoints, 0)),\"layout\":\"\(layout)\",\"threads\":\(threads)}")
                } else {
                    print("\(e)\t\(factorText)\t\(format(result.recall, 4))\t\(format(result.qps, 0))\t\(format(result.p50, 3))\t\(format(result.p99, 3))")
                }
            }
        }
        try await db.close()
    }

    /// Loads `file`; returns the database still open for the engine layout, nil after closing it.
    private func load(
        _ file: VectorFile, into directory: String, config: CollectionConfig, options: DatabaseOptions, layout: String
    ) async throws -> Database? {
        let db = try await Database.open(at: directory, options: options)
        let collection = try await db.createCollection("bench", config: config)
        if filterFraction != nil { try await collection.createPayloadIndex("bucket", type: .integer) }
        let batch = 1024
        var next = 0
        var reported = 0
        let started = ContinuousClock.now
        var waits: [Double] = []  // each upsert call, stalls behind flushes and merges included
        while next < file.rows {
            let end = min(next + batch, file.rows)
            let points = (next..<end).map { i in
                Point(id: .integer(UInt64(i)), vector: Array(file.row(i)), payload: filterFraction == nil ? [:] : ["bucket": .int(Int64(i % 100))])
            }
            let sent = ContinuousClock.now
            try await collection.upsert(points)
            waits.append(seconds(ContinuousClock.now - sent) * 1000)
            next = end
            if next * 10 / file.rows > reported {
                reported = next * 10 / file.rows
                progress("loaded \(next)/\(file.rows) points (\(String(format: "%.1f", seconds(ContinuousClock.now - started))) s)")
            }
        }
        waits.sort()
        let at = { (q: Double) in waits.isEmpty ? 0 : waits[min(waits.count - 1, Int(Double(waits.count) * q))] }
        progress(
            "upserts of \(batch) points: p50 \(format(at(0.5), 2)) ms, p99 \(format(at(0.99), 2)) ms, p99.9 \(format(at(0.999), 2)) ms, max \(format(waits.last ?? 0, 2)) ms, \(waits.filter { $0 > 1000 }.count) over 1 s; \(collection.statistics().stalledWrites) stalled")
        if layout == "engine" || layout == "fresh" {
            progress("waiting for background flushes and merges")
            await collection.waitForMaintenance()
            if layout == "engine", let idle = options.idleFlushAfter {
                progress("waiting for the idle flush (\(idle) without writes) and the merges after it")
                try await Task.sleep(for: idle * 2 + .milliseconds(200))
                await collection.waitForMaintenance()
            }
            return db
        }
        progress("flushing the memtable and waiting for background flushes and compactions")
        try await collection.flush()
        await collection.waitForMaintenance()  // the merges that give flushed segments their graphs
        if layout == "single" {
            progress("merging into one segment")
            try await collection.compact()
        }
        try await db.close()
        return nil
    }

    struct Result {
        var recall: Double
        var qps: Double
        var p50: Double
        var p99: Double
    }

    private func measure(_ c: HSDB.Collection, _ queries: VectorFile, _ parameters: SearchParameters, _ evaluator: RecallEvaluator) throws -> Result {
        let n = queries.rows
        let vectors = (0..<n).map { Array(queries.row($0)) }
        let filter = filterFraction.map { Filter(must: [.range(key: "bucket", NumericRange(lt: ($0 * 100).rounded()))]) }
        for q in vectors.prefix(50) { _ = try c.search(q, limit: k, projection: .idsOnly, filter: filter, parameters: parameters) }  // warm-up
        let found = Mutex([[UInt64]](repeating: [], count: n))
        let latencies = Mutex([Double](repeating: 0, count: n))
        let failure = Mutex<(any Error)?>(nil)
        let (k, threads) = (k, threads)
        let start = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in stride(from: t, to: n, by: threads) {
                let s = ContinuousClock.now
                do {
                    let hits = try c.search(vectors[i], limit: k, projection: .idsOnly, filter: filter, parameters: parameters)
                    let elapsed = ContinuousClock.now - s
                    let ids = hits.map { hit -> UInt64 in if case .integer(let v) = hit.id { return v } else { return .max } }
                    found.withLock { $0[i] = ids }
                    latencies.withLock { $0[i] = seconds(elapsed) * 1000 }
                } catch {
                    failure.withLock { $0 = error }
                }
            }
        }
        let wall = seconds(ContinuousClock.now - start)
        if let error = failure.withLock({ $0 }) { throw error }
        let sorted = latencies.withLock { $0 }.sorted()
        return Result(
            recall: try evaluator.recall(found.withLock { $0 }, collection: c), qps: Double(n) / wall,
            p50: sorted[n / 2], p99: sorted[min(n - 1, n * 99 / 100)])
    }

    private func parseList(_ text: String, _ name: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? -1) >= 0 }) else { throw ValidationError("--\(name) must be a comma-separated list of integers") }
        return values.map { $0! }
    }
}

/// Recall@k as ann-benchmarks and ../shared/bench/peers.py count it: a returned id counts if it
/// is among the true k nearest, or if it is exactly as near as the k-th (ties). Built from the
/// base vectors, it keeps only each query's true ids and k-th similarity, so the base set can
/// be dropped before memory is measured; ties are checked against the engine's stored vectors.
struct RecallEvaluator: Sendable {
    let k: Int
    let metric: Metric
    let trueIDs: [Set<UInt64>]
    let kthSimilarity: [Float]
    let queries: [[Float]]

    init(base: VectorFile, truth: VectorFile, queries: VectorFile, k: Int, metric: Metric) {
        self.k = k
        self.metric = metric
        let prepared = (0..<queries.rows).map { Self.prepare(Array(queries.row($0)), metric) }
        self.queries = prepared
        trueIDs = (0..<queries.rows).map { i in Set((0..<k).map { UInt64(truth.values[i * truth.dimension + $0]) }) }
        kthSimilarity = (0..<queries.rows).map { i in
            let row = Int(truth.values[i * truth.dimension + k - 1])
            return Self.similarity(prepared[i], Self.prepare(Array(base.row(row)), metric), metric)
        }
    }

    func recall(_ found: [[UInt64]], collection: HSDB.Collection) throws -> Double {
        var hits = 0
        for (i, ids) in found.enumerated() {
            let returned = ids.prefix(k).filter { $0 != .max }
            let misses = returned.filter { !trueIDs[i].contains($0) }
            hits += returned.count - misses.count
            if !misses.isEmpty {
                for r in try collection.get(ids: misses.map { .integer($0) }, projection: Projection(withVector: true, withPayload: false)) {
                    if Self.similarity(queries[i], r.vector!, metric) >= kthSimilarity[i] - 1e-6 { hits += 1 }
                }
            }
        }
        return Double(hits) / Double(found.count * k)
    }

    /// Cosine collections store unit vectors; compare the query the same way.
    static func prepare(_ v: [Float], _ metric: Metric) -> [Float] {
        guard metric == .cosine else { return v }
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }

    /// Larger is nearer, for every metric.
    static func similarity(_ q: [Float], _ v: [Float], _ metric: Metric) -> Float {
        switch metric {
        case .cosine, .dot: return zip(q, v).reduce(0) { $0 + $1.0 * $1.1 }
        case .euclidean: return -zip(q, v).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        }
    }
}

func progress(_ line: String) { FileHandle.standardError.write((line + "\n").data(using: .utf8)!) }

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

func format(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }

/// RssAnon from /proc/self/status: anonymous resident memory (not the mapped files).
func anonymousResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") {
        return (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0) * 1024
    }
    return 0
}

func directorySize(_ path: String) -> Int {
    guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
    var total = 0
    while let name = e.nextObject() as? String {
        total += (try? FileManager.default.attributesOfItem(atPath: path + "/" + name)[.size] as? Int) ?? 0
    }
    return total
}
