import Foundation
import HSDBCore
import Index
import XCTest

/// HNSW graph structure and recall against exact search.
final class HNSWTests: XCTestCase {
    /// Unit vectors from a mixture of Gaussian clusters (like embeddings: clustered, not uniform).
    static func clusteredVectors(count: Int, dimension: Int, clusters: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        let centres = (0..<clusters).map { _ in (0..<dimension).map { _ in rng.gaussian() } }
        var out: [Float] = []
        out.reserveCapacity(count * dimension)
        for _ in 0..<count {
            let c = centres[Int(rng.next() % UInt64(clusters))]
            var v = c.map { $0 + 0.6 * rng.gaussian() }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            v = v.map { $0 / norm }
            out += v
        }
        return out
    }

    static func exactNeighbors(_ base: [Float], _ query: ArraySlice<Float>, dimension: Int, k: Int) -> [UInt32] {
        let q = Array(query)
        let n = base.count / dimension
        let scored = (0..<n).map { i -> (Float, UInt32) in
            var dot: Float = 0
            for j in 0..<dimension { dot += base[i * dimension + j] * q[j] }
            return (-dot, UInt32(i))
        }
        return scored.sorted { $0.0 < $1.0 }.prefix(k).map(\.1)
    }

    func testGraphInvariants() {
        let dimension = 16, count = 1500
        let base = Self.clusteredVectors(count: count, dimension: dimension, clusters: 10, seed: 1)
        base.withUnsafeBufferPointer { b in
            let vectors = FloatVectors(base: b.baseAddress!, dimension: dimension, metric: .cosine)
            let builder = HNSWBuilder(count: count, m: 8, efConstruction: 64)
            builder.build(vectors, threads: 2)
            builder.withGraph { g in
                XCTAssertEqual(g.count, count)
                XCTAssertEqual(g.level(of: g.entryPoint), g.maxLevel)
                var reachable = Set<UInt32>([g.entryPoint])
                var frontier = [g.entryPoint]
                for node in 0..<UInt32(count) {
                    for level in 0...g.level(of: node) {
                        let ns = Array(g.neighbors(of: node, level: level))
                        XCTAssertLessThanOrEqual(ns.count, level == 0 ? g.m0 : g.m)
                        XCTAssertFalse(ns.contains(node), "self loop at \(node)")
                        XCTAssertEqual(Set(ns).count, ns.count, "duplicate neighbour at \(node)")
                        for n in ns {
                            XCTAssertLessThan(Int(n), count)
                            XCTAssertGreaterThanOrEqual(g.level(of: n), level, "link to a node absent from level \(level)")
                        }
                        if level == 0 { XCTAssertGreaterThan(ns.count, 0, "isolated node \(node)") }
                    }
                }
                while let node = frontier.popLast() {
                    for n in g.neighbors(of: node, level: 0) where reachable.insert(n).inserted { frontier.append(n) }
                }
                XCTAssertGreaterThan(Double(reachable.count) / Double(count), 0.99, "level 0 should be (almost) connected")
            }
        }
    }

    func testRecallOfFloatSearch() { recallOfFloatSearch(threads: 1) }

    /// Two threads inserting at once (the locked build) give a graph as good.
    func testRecallOfAGraphBuiltByTwoThreads() { recallOfFloatSearch(threads: 2) }

    func recallOfFloatSearch(threads: Int) {
        let dimension = 32, count = 3000, queries = 100, k = 10
        let all = Self.clusteredVectors(count: count + queries, dimension: dimension, clusters: 20, seed: 2)
        let base = Array(all.prefix(count * dimension))
        let recall = base.withUnsafeBufferPointer { b -> Double in
            let vectors = FloatVectors(base: b.baseAddress!, dimension: dimension, metric: .cosine)
            let builder = HNSWBuilder(count: count, m: 16, efConstruction: 100)
            builder.build(vectors, threads: threads)
            return builder.withGraph { g in
                var visited = VisitedSet(count: count)
                var hits = 0
                for qi in 0..<queries {
                    let q = all[((count + qi) * dimension)..<((count + qi + 1) * dimension)]
                    let truth = Set(Self.exactNeighbors(base, q, dimension: dimension, k: k))
                    let found = Array(q).withUnsafeBufferPointer { qp in
                        g.search(vectors.query(qp.baseAddress!), k: k, ef: 64, visited: &visited)
                    }
                    XCTAssertEqual(found.count, k)
                    XCTAssertEqual(found.map(\.distance), found.map(\.distance).sorted(), "results nearest first")
                    hits += found.filter { truth.contains($0.node) }.count
                }
                return Double(hits) / Double(queries * k)
            }
        }
        XCTAssertGreaterThanOrEqual(recall, 0.95, "recall@10 at ef 64")
    }

    func testSearchOfEmptyAndSingleNodeGraphs() {
        let v: [Float] = [1, 0, 0, 0]
        v.withUnsafeBufferPointer { b in
            let vectors = FloatVectors(base: b.baseAddress!, dimension: 4, metric: .dot)
            let empty = HNSWBuilder(count: 0, m: 4, efConstruction: 8)
            empty.build(vectors)
            var visited = VisitedSet(count: 1)
            empty.withGraph { XCTAssertTrue($0.search(vectors.query(b.baseAddress!), k: 3, ef: 8, visited: &visited).isEmpty) }
            let one = HNSWBuilder(count: 1, m: 4, efConstruction: 8)
            one.build(vectors)
            one.withGraph { g in
                XCTAssertEqual(g.search(vectors.query(b.baseAddress!), k: 3, ef: 8, visited: &visited).map(\.node), [0])
            }
        }
    }
}

/// A Box-Muller Gaussian over the seeded generator, so data sets are reproducible.
extension SplitMix64 {
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func gaussian() -> Float {
        Float((-2 * log(max(uniform(), 1e-300))).squareRoot() * cos(2 * .pi * uniform()))
    }
}
