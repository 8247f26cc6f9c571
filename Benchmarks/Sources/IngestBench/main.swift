// Ingest and recovery benchmark for hsdb's write path. Prints one JSON object per line:
//   {"kind":"ingest","mode":...,"batch":...,"writers":...,"points_per_s":...,...}
//   {"kind":"recovery","wal_bytes":...,"seconds":...,"mb_per_s":...,...}
// Usage: IngestBench --base FILE.f16 --dir DIR [--seconds S] [--batches 1,64,1024]
//                    [--writers 1,4,16,64] [--modes fsync,none] [--recovery-mb N]
import Foundation
import HSDB
import Synchronization

struct Options {
    var base = "../../shared/data/dev/base.f16"
    var dir = NSTemporaryDirectory() + "hsdb-bench"
    var seconds = 3.0
    var batches = [1, 64, 1024]
    var writers = [1, 4, 16, 64]
    var modes = ["fsync", "none"]
    var recoveryMB = 512
    let dimension = 384

    init(_ args: [String]) {
        var i = 1
        func next() -> String {
            i += 1
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--base": base = next()
            case "--dir": dir = next()
            case "--seconds": seconds = Double(next())!
            case "--batches": batches = next().split(separator: ",").map { Int($0)! }
            case "--writers": writers = next().split(separator: ",").map { Int($0)! }
            case "--modes": modes = next().split(separator: ",").map(String.init)
            case "--recovery-mb": recoveryMB = Int(next())!
            default: fatalError("unknown argument \(args[i])")
            }
            i += 1
        }
    }
}

/// The base vectors (half floats widened to Float32), one array per vector.
func loadVectors(_ path: String, dimension: Int) throws -> [[Float]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let count = data.count / (2 * dimension)
    return data.withUnsafeBytes { raw in
        (0..<count).map { v in
            (0..<dimension).map { d in Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: (v * dimension + d) * 2, as: UInt16.self))) }
        }
    }
}

final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(p * Double(sorted.count - 1)))]
}

func json(_ fields: [(String, Any)]) -> String {
    "{" + fields.map { key, value in
        let v: String
        switch value {
        case let s as String: v = "\"\(s)\""
        case let d as Double: v = String(format: "%.6g", d)
        default: v = "\(value)"
        }
        return "\"\(key)\":\(v)"
    }.joined(separator: ",") + "}"
}

func freshDirectory(_ path: String) throws {
    try? FileManager.default.removeItem(atPath: path)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
}

func runIngest(_ o: Options, vectors: [[Float]], mode: String, batch: Int, writers: Int) async throws -> String {
    let path = o.dir + "/ingest"
    try freshDirectory(path)
    let db = try await Database.open(at: path, options: writePathOptions(DurabilityMode(parsing: mode)!))
    let c = try await db.createCollection("bench", config: CollectionConfig(dimension: o.dimension, metric: .cosine))
    let next = Counter()
    let deadline = Date().addingTimeInterval(o.seconds)
    let started = Date()
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for _ in 0..<writers {
            group.addTask {
                var lat: [Double] = []
                while Date() < deadline {
                    let first = next.value.add(batch, ordering: .relaxed).oldValue
                    let points = (0..<batch).map { i in
                        let n = first + i
                        return Point(id: .integer(UInt64(n % 100_000)), vector: vectors[n % vectors.count])
                    }
                    let t = DispatchTime.now().uptimeNanoseconds
                    try await c.upsert(points)
                    lat.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
                }
                return lat
            }
        }
        return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
    }
    let elapsed = Date().timeIntervalSince(started)
    let stats = c.walStatistics
    try await db.close()
    let upserts = Double(latencies.count)
    return json([
        ("kind", "ingest"), ("mode", mode), ("batch", batch), ("writers", writers),
        ("upserts_per_s", upserts / elapsed), ("points_per_s", upserts * Double(batch) / elapsed),
        ("wal_mb_per_s", Double(stats.bytesWritten) / elapsed / 1e6), ("syncs_per_s", Double(stats.syncs) / elapsed),
        ("records_per_sync", stats.recordsPerSync), ("sync_ms_mean", stats.syncs == 0 ? 0 : Double(stats.syncNanoseconds) / Double(stats.syncs) / 1e6),
        ("p50_ms", percentile(latencies, 0.5)), ("p99_ms", percentile(latencies, 0.99)), ("max_ms", latencies.last ?? 0), ("seconds", elapsed),
    ])
}

/// Writes about `megabytes` of WAL (batches of 1024 points, new ids), closes, then times a
/// reopen: WAL replay into a usable database with a warm page cache.
func runRecovery(_ o: Options, vectors: [[Float]]) async throws -> String {
    let path = o.dir + "/recovery"
    try freshDirectory(path)
    let points = o.recoveryMB * 1_000_000 / (o.dimension * 4 + 12)
    do {
        let db = try await Database.open(at: path, options: writePathOptions(.none))
        let c = try await db.createCollection("bench", config: CollectionConfig(dimension: o.dimension, metric: .cosine))
        var n = 0
        while n < points {
            let batch = (n..<min(points, n + 1024)).map { Point(id: .integer(UInt64($0)), vector: vectors[$0 % vectors.count]) }
            try await c.upsert(batch)
            n += batch.count
        }
        try await db.close()
    }
    let walBytes = try FileManager.default.subpathsOfDirectory(atPath: path).filter { $0.hasSuffix(".wal") }
        .map { try FileManager.default.attributesOfItem(atPath: path + "/" + $0)[.size] as! Int }.reduce(0, +)
    var best = Double.infinity
    var count = 0
    for _ in 0..<3 {
        let t = Date()
        let db = try await Database.open(at: path, options: writePathOptions(.fsync))
        best = min(best, Date().timeIntervalSince(t))
        count = try db.collection("bench").count()
        try await db.close()
    }
    return json([
        ("kind", "recovery"), ("points", count), ("wal_bytes", walBytes), ("seconds", best),
        ("mb_per_s", Double(walBytes) / best / 1e6), ("points_per_s", Double(count) / best),
    ])
}

/// The write path alone: no flush to segments during the run (graph builds would compete for
/// the CPU and recovery would replay only the WAL since the last flush). Indexing speed is
/// measured by `hsdb bench search` (its build time).
func writePathOptions(_ durability: DurabilityMode) -> DatabaseOptions {
    var o = DatabaseOptions(durability: durability)
    o.memtableFlushBytes = Int.max
    o.memtableStallBytes = Int.max  // with no flushes, a write stall would never be released
    return o
}

let options = Options(CommandLine.arguments)
let vectors = try loadVectors(options.base, dimension: options.dimension)
FileHandle.standardError.write("loaded \(vectors.count) vectors\n".data(using: .utf8)!)
for mode in options.modes {
    for batch in options.batches {
        for writers in options.writers {
            print(try await runIngest(options, vectors: vectors, mode: mode, batch: batch, writers: writers))
        }
    }
}
if options.recoveryMB > 0 { print(try await runRecovery(options, vectors: vectors)) }
try? FileManager.default.removeItem(atPath: options.dir)
