// Index-level experiments on ../shared/data: HNSW build, and search by float traversal,
// binary (Hamming) traversal with exact rescoring, and a flat Hamming scan with rescoring.
// One JSON line per setting. Used to choose the index design (DESIGN.md, "Index").
//
// Usage: IndexBench --data DIR [--count N] [--queries N] [--m 16] [--efc 200] [--graph float|binary] [--threads 1]
//                   [--only all|scan|kernel]   (scan: only the flat scans, no graph build;
//                                               kernel: only the native kernel's rows)
import Foundation
import Index

struct Options {
    var data = "../../shared/data/dev"
    var count = 100_000
    var queries = 1000
    var m = 16
    var efc = 200
    var graph = "float"
    var threads = 1
    /// Bit threshold: "mean" (per-dimension mean of the base set) or "zero" (sign).
    var threshold = "mean"
    /// "all"; "scan": only the flat scans (Swift loop and native kernel), no graph; "kernel":
    /// only the native kernel's rows.
    var only = "all"

    init(_ args: [String]) {
        var i = 1
        func next() -> String { i += 1; return args[i] }
        while i < args.count {
            switch args[i] {
            case "--data": data = next()
            case "--count": count = Int(next())!
            case "--queries": queries = Int(next())!
            case "--m": m = Int(next())!
            case "--efc": efc = Int(next())!
            case "--graph": graph = next()
            case "--threads": threads = Int(next())!
            case "--threshold": threshold = next()
            case "--only": only = next()
            default: fatalError("unknown argument \(args[i])")
            }
            i += 1
        }
    }
}

let dimension = 384
let k = 10

func readF16(_ path: String, rows: Int) throws -> [Float] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let n = min(rows * dimension, data.count / 2)
    return data.withUnsafeBytes { raw in (0..<n).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) } }
}

func readGroundTruth(_ path: String, queries: Int) throws -> [[UInt32]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return data.withUnsafeBytes { raw in
        (0..<queries).map { q in (0..<k).map { raw.loadUnaligned(fromByteOffset: (q * 100 + $0) * 4, as: UInt32.self) } }
    }
}

func json(_ pairs: [(String, Any)]) -> String {
    "{" + pairs.map { key, value in
        let v: String
        switch value {
        case let s as String: v = "\"\(s)\""
        case let d as Double: v = String(format: "%.4f", d)
        default: v = "\(value)"
        }
        return "\"\(key)\":\(v)"
    }.joined(separator: ",") + "}"
}

let o = Options(CommandLine.arguments)
let base = try readF16(o.data + "/base.f16", rows: o.count)
let count = base.count / dimension
let queries = try readF16(o.data + "/query.f16", rows: o.queries)
// Ground truth is over the full base set; with --count below 100,000 it is recomputed exactly.
let truth: [[UInt32]]
if count == 100_000 {
    truth = try readGroundTruth(o.data + "/gt.i32", queries: o.queries)
} else {
    truth = base.withUnsafeBufferPointer { b in
        queries.withUnsafeBufferPointer { q in
            (0..<o.queries).map { qi in
                var top = TopK<UInt32>(k: k, higherIsBetter: true)
                for i in 0..<count { top.insert(Distance.dot(q.baseAddress! + qi * dimension, b.baseAddress! + i * dimension, count: dimension), UInt32(i)) }
                return top.sorted().map(\.item)
            }
        }
    }
}

let quantizer = o.threshold == "zero"
    ? BinaryQuantizer(mean: [Float](repeating: 0, count: dimension))
    : base.withUnsafeBufferPointer { BinaryQuantizer.fit($0.baseAddress!, count: count, dimension: dimension) }
let words = quantizer.wordsPerCode
var codes = [UInt64](repeating: 0, count: count * words)
base.withUnsafeBufferPointer { b in codes.withUnsafeMutableBufferPointer { c in
    for i in 0..<count { quantizer.encode(b.baseAddress! + i * dimension, into: c.baseAddress! + i * words) }
} }
let queryCodes = queries.withUnsafeBufferPointer { q in (0..<o.queries).map { i -> [UInt64] in
    var code = [UInt64](repeating: 0, count: words)
    code.withUnsafeMutableBufferPointer { quantizer.encode(q.baseAddress! + i * dimension, into: $0.baseAddress!) }
    return code
} }

/// One line to stdout, unbuffered (results appear as they are measured).
func emit(_ line: String) { FileHandle.standardOutput.write((line + "\n").data(using: .utf8)!) }

func recall(_ found: [[UInt32]]) -> Double {
    Double(zip(found, truth).map { f, t in Set(f).intersection(t).count }.reduce(0, +)) / Double(found.count * k)
}

/// Times `search` over all queries, single thread.
func measure(_ label: [(String, Any)], _ search: (Int) -> [UInt32]) {
    var results: [[UInt32]] = []
    var latencies: [Double] = []
    let start = Date()
    for q in 0..<o.queries {
        let t = DispatchTime.now().uptimeNanoseconds
        results.append(search(q))
        latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
    }
    let elapsed = Date().timeIntervalSince(start)
    latencies.sort()
    emit(json(label + [("recall", recall(results)), ("qps", Double(o.queries) / elapsed),
                       ("p50_ms", latencies[latencies.count / 2]), ("p99_ms", latencies[latencies.count * 99 / 100])]))
}

/// The asymmetric distance: the float query (centred like the codes) against a binary code,
/// as minus the sum of +q_i for set bits and -q_i for clear ones, through one 256-entry table
/// per code byte (built once per query).
struct AsymmetricQuery: NodeDistance {
    let table: [Float]
    let codes: BinaryCodes

    init(query: UnsafePointer<Float>, mean: [Float], codes: BinaryCodes) {
        let bytes = codes.words * 8
        var table = [Float](repeating: 0, count: bytes * 256)
        for j in 0..<bytes {
            for v in 0..<256 {
                var sum: Float = 0
                for b in 0..<8 {
                    let i = j * 8 + b
                    guard i < mean.count else { break }
                    let x = query[i] - mean[i]
                    sum += (v >> b) & 1 == 1 ? x : -x
                }
                table[j * 256 + v] = sum
            }
        }
        self.table = table
        self.codes = codes
    }

    @inline(__always)
    func distance(to node: UInt32) -> Float {
        let raw = UnsafeRawPointer(codes.code(node))
        return table.withUnsafeBufferPointer { t in
            var s0: Float = 0, s1: Float = 0
            var j = 0
            let n = codes.words * 8
            while j + 2 <= n {
                s0 += t[j * 256 + Int(raw.load(fromByteOffset: j, as: UInt8.self))]
                s1 += t[(j + 1) * 256 + Int(raw.load(fromByteOffset: j + 1, as: UInt8.self))]
                j += 2
            }
            return -(s0 + s1)
        }
    }
}

/// Exact rescoring of candidate nodes: the k best by true similarity.
func rescore(_ candidates: [Candidate], query: UnsafePointer<Float>, vectors: FloatVectors) -> [UInt32] {
    var top = TopK<UInt32>(k: k, higherIsBetter: false)
    for c in candidates { top.insert(vectors.query(query).distance(to: c.node), c.node) }
    return top.sorted().map(\.item)
}

/// The same, with the vectors `ahead` candidates ahead prefetched (what the engine does).
func rescorePrefetched(_ candidates: [Candidate], query: UnsafePointer<Float>, vectors: FloatVectors, ahead: Int = 4) -> [UInt32] {
    var top = TopK<UInt32>(k: k, higherIsBetter: false)
    let nodes = candidates.map(\.node)
    for (n, d) in zip(nodes, vectors.query(query).distances(to: nodes, prefetchAhead: ahead)) { top.insert(d, n) }
    return top.sorted().map(\.item)
}

/// Microseconds per call of `body`, each call timed on its own over `rounds` passes of all
/// queries: the 10th percentile and the median (robust to a loaded machine's preemptions,
/// which a mean over a pass is not).
func microseconds(rounds: Int = 3, _ body: (Int) -> Void) -> (p10: Double, median: Double) {
    var calls: [Double] = []
    for _ in 0..<rounds {
        for qi in 0..<o.queries {
            let t = DispatchTime.now().uptimeNanoseconds
            body(qi)
            calls.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e3)
        }
    }
    calls.sort()
    return (calls[calls.count / 10], calls[calls.count / 2])
}

/// The flat scans: the Swift loop the engine had (Hamming.distance + TopK), then the native
/// kernel on each path this CPU has, alone and with rescoring (DESIGN.md, "Scan kernel").
func scanBenchmarks(vectors: FloatVectors, binary: BinaryCodes, queries q: UnsafePointer<Float>) {
    let blocks = CodeBlocks(binary, count: count)
    emit(json([("kind", "cpu"), ("best_path", ScanKernel.best.description), ("active_path", ScanKernel.active.description)]))
    var sink: UInt64 = 0
    let swiftRows = o.only != "kernel"
    if swiftRows {
    let swiftLoop = microseconds(rounds: 1) { qi in
        queryCodes[qi].withUnsafeBufferPointer { qc in
            for i in 0..<count { sink &+= UInt64(Hamming.distance(qc.baseAddress!, binary.code(UInt32(i)), words: words)) }
        }
    }
    emit(json([("kind", "scan-alone"), ("impl", "swift-loop"), ("us_p10", swiftLoop.p10), ("us_median", swiftLoop.median)]))
    let swiftTopK = microseconds(rounds: 1) { qi in
        var top = TopK<UInt32>(k: k * 16, higherIsBetter: false)
        queryCodes[qi].withUnsafeBufferPointer { qc in
            for i in 0..<count { top.insert(Float(Hamming.distance(qc.baseAddress!, binary.code(UInt32(i)), words: words)), UInt32(i)) }
        }
        sink &+= UInt64(top.sorted().count)
    }
    emit(json([("kind", "scan-topk160"), ("impl", "swift-loop+TopK"), ("us_p10", swiftTopK.p10), ("us_median", swiftTopK.median)]))
    }
    let initial = ScanKernel.active
    for path in ScanKernel.allCases where path.rawValue <= ScanKernel.best.rawValue {
        ScanKernel.use(path)
        let alone = microseconds { qi in
            queryCodes[qi].withUnsafeBufferPointer { qc in sink &+= UInt64(blocks.distances(to: qc.baseAddress!)[qi]) }
        }
        emit(json([("kind", "scan-alone"), ("impl", "kernel-" + path.description), ("us_p10", alone.p10), ("us_median", alone.median)]))
        let fused = microseconds { qi in
            queryCodes[qi].withUnsafeBufferPointer { qc in sink &+= UInt64(blocks.nearest(to: qc.baseAddress!, k: k * 16).count) }
        }
        emit(json([("kind", "scan-topk160"), ("impl", "kernel-" + path.description), ("us_p10", fused.p10), ("us_median", fused.median)]))
    }
    ScanKernel.use(initial)
    for oversampling in [8, 16, 32] {
        if swiftRows { measure([("kind", "flat-hamming+rescore"), ("impl", "swift-loop"), ("oversampling", oversampling)]) { qi in
            var top = TopK<UInt32>(k: k * oversampling, higherIsBetter: false)
            queryCodes[qi].withUnsafeBufferPointer { qc in
                for i in 0..<count { top.insert(Float(Hamming.distance(qc.baseAddress!, binary.code(UInt32(i)), words: words)), UInt32(i)) }
            }
            return rescore(top.sorted().map { Candidate(distance: $0.score, node: $0.item) }, query: q + qi * dimension, vectors: vectors)
        } }
        for ahead in [0, 4] {
            measure([("kind", "flat-hamming+rescore"), ("impl", "kernel-" + initial.description), ("prefetch", ahead), ("oversampling", oversampling)]) { qi in
                let candidates = queryCodes[qi].withUnsafeBufferPointer { blocks.nearest(to: $0.baseAddress!, k: k * oversampling) }
                return ahead == 0
                    ? rescore(candidates, query: q + qi * dimension, vectors: vectors)
                    : rescorePrefetched(candidates, query: q + qi * dimension, vectors: vectors, ahead: ahead)
            }
        }
    }
    if sink == 42 { emit("") }
}

base.withUnsafeBufferPointer { b in
codes.withUnsafeBufferPointer { c in
queries.withUnsafeBufferPointer { q in
    let vectors = FloatVectors(base: b.baseAddress!, dimension: dimension, metric: .cosine)
    let binary = BinaryCodes(base: c.baseAddress!, words: words)
    if o.only == "scan" || o.only == "kernel" {
        scanBenchmarks(vectors: vectors, binary: binary, queries: q.baseAddress!)
        return
    }
    let builder = HNSWBuilder(count: count, m: o.m, efConstruction: o.efc)
    let t = Date()
    if o.graph == "binary" { builder.build(binary, threads: o.threads) } else { builder.build(vectors, threads: o.threads) }
    let buildSeconds = Date().timeIntervalSince(t)
    emit(json([("kind", "build"), ("graph", o.graph), ("count", count), ("m", o.m), ("efc", o.efc), ("threads", o.threads), ("build_s", buildSeconds)]))
    builder.withGraph { g in
        var visited = VisitedSet(count: count)
        for ef in [16, 32, 64, 128, 256] {
            measure([("kind", "float"), ("graph", o.graph), ("ef", ef)]) { qi in
                g.search(vectors.query(q.baseAddress! + qi * dimension), k: k, ef: ef, visited: &visited).map(\.node)
            }
        }
        for oversampling in [2, 4, 8, 16] {
            for ef in [64, 128, 256] where ef >= k * oversampling / 2 {
                measure([("kind", "binary+rescore"), ("graph", o.graph), ("ef", ef), ("oversampling", oversampling)]) { qi in
                    let candidates = queryCodes[qi].withUnsafeBufferPointer { qc in
                        g.search(binary.query(qc.baseAddress!), k: k * oversampling, ef: max(ef, k * oversampling), visited: &visited)
                    }
                    return rescore(candidates, query: q.baseAddress! + qi * dimension, vectors: vectors)
                }
            }
        }
    }
    builder.withGraph { g in
        var visited = VisitedSet(count: count)
        for oversampling in [2, 4, 8] {
            measure([("kind", "asymmetric+rescore"), ("graph", o.graph), ("threshold", o.threshold), ("oversampling", oversampling)]) { qi in
                let aq = AsymmetricQuery(query: q.baseAddress! + qi * dimension, mean: quantizer.mean, codes: binary)
                let candidates = g.search(aq, k: k * oversampling, ef: max(64, k * oversampling), visited: &visited)
                return rescore(candidates, query: q.baseAddress! + qi * dimension, vectors: vectors)
            }
        }
    }
    scanBenchmarks(vectors: vectors, binary: binary, queries: q.baseAddress!)
}
}
}
