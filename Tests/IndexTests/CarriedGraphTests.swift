import HSDBCore
import Index
import XCTest

/// A build that starts from an earlier graph (a merge's largest input) keeps its nodes'
/// levels, drops links to nodes not carried, inserts the rest, and searches as well as a
/// fresh build.
final class CarriedGraphTests: XCTestCase {
    func testABuildFromACarriedGraphKeepsLevelsAndRecall() {
        let dimension = 32, old = 2000, added = 1000, queries = 100, k = 10
        let all = HNSWTests.clusteredVectors(count: old + added + queries, dimension: dimension, clusters: 20, seed: 4)
        // The earlier graph: the first 2,000 vectors. 5% of them are deleted before the merge.
        let dropped = Set((0..<old).filter { $0 % 20 == 7 })
        // The merged numbering: survivors and new points interleaved (a merge sorts by id).
        var order: [Int] = (0..<(old + added)).filter { !dropped.contains($0) }
        var rng = SplitMix64(seed: 11)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        var newNode = [UInt32](repeating: CarriedGraph.dropped, count: old)
        for (n, source) in order.enumerated() where source < old { newNode[source] = UInt32(n) }
        let merged = order.flatMap { all[($0 * dimension)..<(($0 + 1) * dimension)] }

        let first = Array(all.prefix(old * dimension))
        first.withUnsafeBufferPointer { fb in
            let earlier = HNSWBuilder(count: old, m: 16, efConstruction: 100)
            earlier.build(FloatVectors(base: fb.baseAddress!, dimension: dimension, metric: .cosine), threads: 2)
            earlier.withGraph { g in
                merged.withUnsafeBufferPointer { mb in
                    let vectors = FloatVectors(base: mb.baseAddress!, dimension: dimension, metric: .cosine)
                    let builder = HNSWBuilder(count: order.count, m: 16, efConstruction: 100, carrying: CarriedGraph(graph: g, newNode: newNode))
                    builder.build(vectors, threads: 2)
                    builder.withGraph { b in
                        for (o, n) in newNode.enumerated() where n != CarriedGraph.dropped {
                            XCTAssertEqual(b.level(of: n), g.level(of: UInt32(o)), "carried node \(o) keeps its level")
                        }
                        if newNode[Int(g.entryPoint)] != CarriedGraph.dropped && b.maxLevel == g.maxLevel {
                            XCTAssertEqual(b.entryPoint, newNode[Int(g.entryPoint)])
                        }
                        for node in 0..<UInt32(order.count) {
                            for level in 0...b.level(of: node) {
                                let ns = Array(b.neighbors(of: node, level: level))
                                XCTAssertFalse(ns.contains(node))
                                XCTAssertEqual(Set(ns).count, ns.count)
                                for n in ns { XCTAssertGreaterThanOrEqual(b.level(of: n), level) }
                                if level == 0 { XCTAssertGreaterThan(ns.count, 0, "isolated node \(node)") }
                            }
                        }
                        var visited = VisitedSet(count: order.count)
                        var hits = 0
                        for qi in 0..<queries {
                            let q = all[((old + added + qi) * dimension)..<((old + added + qi + 1) * dimension)]
                            let truth = Set(HNSWTests.exactNeighbors(merged, q, dimension: dimension, k: k))
                            let found = Array(q).withUnsafeBufferPointer { b.search(vectors.query($0.baseAddress!), k: k, ef: 64, visited: &visited) }
                            hits += found.filter { truth.contains($0.node) }.count
                        }
                        XCTAssertGreaterThanOrEqual(Double(hits) / Double(queries * k), 0.95, "recall@10 at ef 64")
                    }
                }
            }
        }
    }
}
