import Foundation
import HSDBCore
import Index
import XCTest

/// The asymmetric estimator (native code) against a reference written here from its formula
/// (DESIGN.md, "Index", "Estimator"), on every dispatch path; its ranking quality; and the
/// graph search that walks by it.
final class CodeEstimatorTests: XCTestCase {
    override func tearDown() { ScanKernel.reloadEnvironment() }

    func forEachPath(_ body: () throws -> Void) rethrows {
        for path in ScanKernel.allCases where path.rawValue <= ScanKernel.best.rawValue {
            XCTAssertEqual(ScanKernel.use(path), path)
            try body()
        }
    }

    /// The estimate computed the slow way: the query quantized to 4 bits, then the sum over
    /// every dimension.
    func reference(_ v: [Float], _ q: [Float], _ mean: [Float], metric: Metric) -> Float {
        let centred = zip(v, mean).map { $0 - $1 }
        let squares = centred.reduce(0) { $0 + $1 * $1 }, absolutes = centred.reduce(0) { $0 + abs($1) }
        let f = absolutes > 0 ? squares / absolutes : 0
        let g = zip(centred, mean).reduce(0) { $0 + $1.0 * $1.1 }
        let cq = zip(q, mean).map { $0 - $1 }
        let lo = cq.min()!, step = (cq.max()! - lo) / 15
        let quantized = cq.map { x -> Float in
            let u = step > 0 ? min(15, max(0, ((x - lo) / step + 0.5).rounded(.down))) : 0
            return lo + step * u
        }
        let s = zip(v, zip(mean, quantized)).reduce(Float(0)) { acc, e in acc + (e.0 > e.1.0 ? 1 : -1) * e.1.1 }
        let dot = f * s + g + zip(q, mean).reduce(0) { $0 + $1.0 * $1.1 }
        let norm = v.reduce(0) { $0 + $1 * $1 }
        return metric == .euclidean ? norm - 2 * dot : -dot
    }

    func testEstimatesMatchTheFormula() {
        var rng = SplitMix64(seed: 21)
        forEachPath {
            for dimension in [1, 7, 63, 64, 65, 200, 384] {
                let mean = (0..<dimension).map { _ in Float(rng.gaussian()) * 0.1 }
                let quantizer = BinaryQuantizer(mean: mean)
                let stride = CodeEstimator.recordBytes(words: quantizer.wordsPerCode)
                XCTAssertEqual(stride % 16, 0)
                let vectors = (0..<20).map { _ in (0..<dimension).map { _ in Float(rng.gaussian()) } }
                let storage = UnsafeMutableRawPointer.allocate(byteCount: vectors.count * stride, alignment: 64)
                defer { storage.deallocate() }
                for (i, v) in vectors.enumerated() {
                    v.withUnsafeBufferPointer { CodeEstimator.writeRecord($0.baseAddress!, quantizer: quantizer, into: storage + i * stride) }
                    let code = (storage + i * stride).assumingMemoryBound(to: UInt64.self)
                    XCTAssertEqual(Array(UnsafeBufferPointer(start: code, count: quantizer.wordsPerCode)), quantizer.encode(v), "the record starts with the code")
                }
                let records = EstimatorRecords(base: storage, stride: stride, count: vectors.count)
                for metric in Metric.allCases {
                    let q = (0..<dimension).map { _ in Float(rng.gaussian()) }
                    let estimator = EstimatorQuery(q, quantizer: quantizer, metric: metric)
                    let all = estimator.distances(records, (0..<UInt32(vectors.count)).reversed())
                    for (i, v) in vectors.enumerated() {
                        let expected = reference(v, q, mean, metric: metric)
                        let got = estimator.distance(storage + i * stride)
                        let scale = max(1, abs(expected))
                        XCTAssertEqual(got, expected, accuracy: 1e-3 * scale, "\(ScanKernel.active) dimension \(dimension) \(metric) vector \(i)")
                        XCTAssertEqual(all[vectors.count - 1 - i], got, "batch and single estimates agree")
                    }
                }
            }
        }
    }

    /// Unit vectors around Gaussian centres, each point with its own spread (1 to 3 times the
    /// centres' scale), so a query's neighbours are at many distances; the last `queries`
    /// vectors are drawn the same way, as queries.
    static func spreadVectors(count: Int, queries: Int, dimension: Int, clusters: Int, seed: UInt64) -> (base: [Float], queries: [Float]) {
        var rng = SplitMix64(seed: seed)
        let centres = (0..<clusters).map { _ in (0..<dimension).map { _ in rng.gaussian() } }
        var out: [Float] = []
        for _ in 0..<count + queries {
            let c = centres[Int(rng.next() % UInt64(clusters))]
            let spread = 1 + 2 * Float(rng.next() % 1000) / 1000
            let v = c.map { $0 + spread * rng.gaussian() }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            out += v.map { $0 / norm }
        }
        return (Array(out[..<(count * dimension)]), Array(out[(count * dimension)...]))
    }

    /// The exact 10 nearest are almost all among the 40 nearest by estimate (what lets the
    /// engine rescore 4x the limit), and more often than among the 40 nearest by Hamming.
    func testEstimatorRanksBetterThanHamming() {
        let dimension = 384, count = 4000
        let (base, queries) = Self.spreadVectors(count: count, queries: 50, dimension: dimension, clusters: 40, seed: 4)
        let quantizer = base.withUnsafeBufferPointer { BinaryQuantizer.fit($0.baseAddress!, count: count, dimension: dimension) }
        let store = base.withUnsafeBufferPointer {
            EstimatorRecordStore(FloatVectors(base: $0.baseAddress!, dimension: dimension, metric: .cosine), count: count, quantizer: quantizer)
        }
        var byEstimate = 0, byHamming = 0
        for qi in 0..<50 {
            let q = Array(queries[qi * dimension..<(qi + 1) * dimension])
            let truth = Set(HNSWTests.exactNeighbors(base, q[...], dimension: dimension, k: 10))
            let estimates = EstimatorQuery(q, quantizer: quantizer, metric: .cosine).distances(store.records, (0..<UInt32(count)).map { $0 })
            byEstimate += (0..<count).sorted { estimates[$0] < estimates[$1] }.prefix(40).filter { truth.contains(UInt32($0)) }.count
            let code = quantizer.encode(q)
            let hamming = (0..<count).map { i in
                zip(code, quantizer.encode(Array(base[i * dimension..<(i + 1) * dimension]))).reduce(0) { $0 + ($1.0 ^ $1.1).nonzeroBitCount }
            }
            byHamming += (0..<count).sorted { hamming[$0] < hamming[$1] }.prefix(40).filter { truth.contains(UInt32($0)) }.count
        }
        XCTAssertGreaterThanOrEqual(Double(byEstimate) / 500, 0.95, "recall of the exact 10 in the estimator's 40")
        XCTAssertGreaterThan(byEstimate, byHamming, "the estimator ranks better than Hamming distance")
    }

    /// The native graph search by estimate: accepted nodes only, nearest first by estimate,
    /// and the exact neighbours found once rescored, on every path.
    func testGraphSearchByEstimate() {
        let dimension = 256, count = 1500  // codes rank well enough from 256 dimensions (DESIGN.md)
        let (base, queries) = Self.spreadVectors(count: count, queries: 30, dimension: dimension, clusters: 30, seed: 8)
        base.withUnsafeBufferPointer { b in
            let vectors = FloatVectors(base: b.baseAddress!, dimension: dimension, metric: .cosine)
            let builder = HNSWBuilder(count: count, m: 8, efConstruction: 40)
            builder.build(vectors, threads: 1)
            let quantizer = BinaryQuantizer.fit(b.baseAddress!, count: count, dimension: dimension)
            let store = EstimatorRecordStore(vectors, count: count, quantizer: quantizer)
            let even = (0..<(count + 63) / 64).map { _ in UInt64(0x5555_5555_5555_5555) }
            forEachPath {
                var visited = VisitedSet(count: count)
                var found = 0
                for qi in 0..<30 {
                    let q = Array(queries[qi * dimension..<(qi + 1) * dimension])
                    let estimator = EstimatorQuery(q, quantizer: quantizer, metric: .cosine)
                    builder.withGraph { g in
                        let hits = g.search(estimator, records: store.records, k: 40, ef: 80, accept: nil, visited: &visited)
                        XCTAssertEqual(hits.count, 40)
                        XCTAssertEqual(hits.map(\.distance), hits.map(\.distance).sorted(), "nearest first")
                        XCTAssertEqual(Set(hits.map(\.node)).count, 40, "each node once")
                        for h in hits { XCTAssertEqual(h.distance, estimator.distance(store.records.base + Int(h.node) * store.records.stride)) }
                        let truth = HNSWTests.exactNeighbors(base, q[...], dimension: dimension, k: 10)
                        let rescored = q.withUnsafeBufferPointer { vectors.query($0.baseAddress!) }
                        let top10 = hits.map(\.node).sorted { rescored.distance(to: $0) < rescored.distance(to: $1) }.prefix(10)
                        found += top10.filter { truth.contains($0) }.count
                        let filtered = g.search(estimator, records: store.records, k: 40, ef: 80, accept: even, visited: &visited)
                        XCTAssertEqual(filtered.count, 40)
                        XCTAssertTrue(filtered.allSatisfy { $0.node % 2 == 0 }, "only accepted nodes")
                        XCTAssertEqual(g.search(estimator, records: store.records, k: count + 10, ef: 10, accept: nil, visited: &visited).count, count,
                                       "k above the count returns every node")
                    }
                }
                XCTAssertGreaterThanOrEqual(Double(found) / 300, 0.9, "\(ScanKernel.active): recall@10 after rescoring the 40")
            }
        }
    }
}
