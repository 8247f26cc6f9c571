import Foundation
import HSDBCore
import Index
import XCTest

/// The native scan kernels (Sources/CHamming) against a scalar reference in Swift, on every
/// dispatch path the CPU has, each forced through the HSDB_SIMD environment variable: odd
/// word counts, counts around the 8-code block, empty and tiny inputs, codes with many ties,
/// live bitmaps from none to all.
final class ScanKernelTests: XCTestCase {
    override func tearDown() {
        unsetenv("HSDB_SIMD")
        ScanKernel.reloadEnvironment()
    }

    /// The paths to test, each made active through the environment variable.
    func forEachPath(_ body: (ScanKernel) throws -> Void) rethrows {
        for path in ScanKernel.allCases {
            setenv("HSDB_SIMD", path.description, 1)
            let active = ScanKernel.reloadEnvironment()
            guard path.rawValue <= ScanKernel.best.rawValue else {
                XCTAssertEqual(active, ScanKernel.best, "a path the CPU lacks falls back to the best one")
                continue
            }
            XCTAssertEqual(active, path)
            XCTAssertEqual(ScanKernel.active, path)
            try body(path)
        }
    }

    /// Random codes; `sparse` keeps few bits so many distances tie.
    func randomCodes(_ count: Int, words: Int, sparse: Bool, _ rng: inout SplitMix64) -> [UInt64] {
        (0..<count * words).map { _ in sparse ? rng.next() & rng.next() & rng.next() & 0x0000_0101_0010_0003 : rng.next() }
    }

    func reference(_ query: [UInt64], _ codes: [UInt64], words: Int) -> [UInt32] {
        query.withUnsafeBufferPointer { q in
            codes.withUnsafeBufferPointer { c in
                (0..<codes.count / words).map { UInt32(Hamming.distance(q.baseAddress!, c.baseAddress! + $0 * words, words: words)) }
            }
        }
    }

    func testEveryPathMatchesTheScalarReference() throws {
        var rng = SplitMix64(seed: 42)
        let counts = [0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 200, 1001]
        let wordCounts = [1, 2, 3, 5, 6, 7, 13, 30, 31, 32, 33, 63]
        try forEachPath { path in
            for words in wordCounts {
                for count in counts {
                    for sparse in [false, true] {
                        let codes = randomCodes(count, words: words, sparse: sparse, &rng)
                        let query = randomCodes(1, words: words, sparse: sparse, &rng)
                        let expected = reference(query, codes, words: words)
                        let blocks = codes.withUnsafeBufferPointer { CodeBlocks(BinaryCodes(base: $0.baseAddress ?? UnsafePointer(bitPattern: 8)!, words: words), count: count) }
                        let context = "\(path) words \(words) count \(count) sparse \(sparse)"
                        let got = query.withUnsafeBufferPointer { blocks.distances(to: $0.baseAddress!) }
                        XCTAssertEqual(got, expected, context)
                        try checkTopK(blocks, query, expected, &rng, context)
                    }
                }
            }
        }
    }

    func checkTopK(_ blocks: CodeBlocks, _ query: [UInt64], _ distances: [UInt32], _ rng: inout SplitMix64, _ context: String) throws {
        let count = distances.count
        let bitmapWords = (count + 63) / 64
        let bitmaps: [[UInt64]?] = [
            nil,
            [UInt64](repeating: .max, count: bitmapWords),
            [UInt64](repeating: 0, count: bitmapWords),
            (0..<bitmapWords).map { _ in rng.next() },
            (0..<bitmapWords).map { _ in rng.next() & rng.next() & rng.next() },
        ]
        for (b, live) in bitmaps.enumerated() {
            let isLive = { (o: Int) in live.map { $0[o >> 6] >> UInt64(o & 63) & 1 == 1 } ?? true }
            let ranked = (0..<count).filter(isLive).sorted { (distances[$0], $0) < (distances[$1], $1) }
            for k in Set([1, 2, 3, 10, 17, 160, count, count + 5]) {
                let got = query.withUnsafeBufferPointer { q in
                    guard let live else { return blocks.nearest(to: q.baseAddress!, k: k) }
                    return live.withUnsafeBufferPointer { blocks.nearest(to: q.baseAddress!, k: k, live: $0.baseAddress!) }
                }
                let expected = ranked.prefix(k)
                XCTAssertEqual(got.map { Int($0.node) }, Array(expected), "\(context) bitmap \(b) k \(k): ordinals, ties to the lower ordinal")
                XCTAssertEqual(got.map(\.distance), expected.map { Float(distances[$0]) }, "\(context) bitmap \(b) k \(k): distances")
            }
        }
    }

    func testScanOverAQuantizedSegmentMatchesHammingOnRowMajorCodes() {
        var rng = SplitMix64(seed: 7)
        let dimension = 384, count = 3000
        let vectors = (0..<count * dimension).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
        let quantizer = vectors.withUnsafeBufferPointer { BinaryQuantizer.fit($0.baseAddress!, count: count, dimension: dimension) }
        let words = quantizer.wordsPerCode
        var codes = [UInt64](repeating: 0, count: count * words)
        vectors.withUnsafeBufferPointer { v in
            codes.withUnsafeMutableBufferPointer { c in
                for i in 0..<count { quantizer.encode(v.baseAddress! + i * dimension, into: c.baseAddress! + i * words) }
            }
        }
        let query = quantizer.encode(Array(vectors[0..<dimension]))
        let expected = reference(query, codes, words: words)
        forEachPath { path in
            let blocks = codes.withUnsafeBufferPointer { CodeBlocks(BinaryCodes(base: $0.baseAddress!, words: words), count: count) }
            let top = query.withUnsafeBufferPointer { blocks.nearest(to: $0.baseAddress!, k: 50) }
            XCTAssertEqual(top.first?.node, 0, "\(path): the query's own code is at distance 0")
            let ranked = (0..<count).sorted { (expected[$0], $0) < (expected[$1], $1) }.prefix(50)
            XCTAssertEqual(top.map { Int($0.node) }, Array(ranked), "\(path)")
        }
    }

    func testPrefetchedRescoringGivesTheSameDistances() {
        var rng = SplitMix64(seed: 3)
        for dimension in [1, 7, 384, 385] {
            let vectors = (0..<50 * dimension).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
            let query = (0..<dimension).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
            let nodes = (0..<40).map { _ in UInt32(rng.next() % 50) }
            for metric in Metric.allCases {
                vectors.withUnsafeBufferPointer { v in
                    query.withUnsafeBufferPointer { q in
                        let exact = FloatVectors(base: v.baseAddress!, dimension: dimension, metric: metric).query(q.baseAddress!)
                        for ahead in [0, 1, 4, 100] {
                            XCTAssertEqual(exact.distances(to: nodes, prefetchAhead: ahead), nodes.map { exact.distance(to: $0) }, "\(metric) dimension \(dimension)")
                        }
                        XCTAssertEqual(exact.distances(to: []), [])
                    }
                }
            }
        }
    }

    /// Several layers (fixed blocks and growing ones read up to a count that ends inside a
    /// block) feeding one candidate set: the same entries as ranking every live code of every
    /// layer by (distance, tag, ordinal).
    func testOneCandidateSetOverSeveralScans() throws {
        var rng = SplitMix64(seed: 11)
        try forEachPath { path in
            for words in [1, 3, 6] {
                for trial in 0..<20 {
                    let sparse = trial % 2 == 0
                    let query = randomCodes(1, words: words, sparse: sparse, &rng)
                    var expected: [CandidateSet.Entry] = []
                    let k = [1, 5, 40, 500][trial % 4]
                    var set = CandidateSet(capacity: k)
                    var keep: [AnyObject] = []
                    for tag in 0..<Int(rng.next() % 4 + 1) {
                        let count = Int(rng.next() % 150)
                        let codes = randomCodes(count, words: words, sparse: sparse, &rng)
                        let live: [UInt64]? = rng.next() % 2 == 0 ? nil : (0..<(count + 63) / 64).map { _ in rng.next() | rng.next() }
                        let distances = reference(query, codes, words: words)
                        for o in 0..<count where live.map({ $0[o >> 6] >> UInt64(o & 63) & 1 == 1 }) ?? true {
                            expected.append(.init(distance: Int(distances[o]), tag: tag, ordinal: 1000 * tag + o))
                        }
                        let growing = tag % 2 == 1
                        query.withUnsafeBufferPointer { q in
                            if growing {
                                let capacity = (count + 64) / 64 * 64
                                let storage = UnsafeMutableRawPointer.allocate(
                                    byteCount: GrowingCodeBlocks.storageWords(capacity: capacity, words: words) * 8, alignment: 64)
                                defer { storage.deallocate() }
                                let blocks = GrowingCodeBlocks(
                                    base: storage.bindMemory(to: UInt64.self, capacity: capacity * words), words: words, capacity: capacity)
                                codes.withUnsafeBufferPointer { c in for i in 0..<count { blocks.store(c.baseAddress! + i * words, at: i) } }
                                if let live {
                                    live.withUnsafeBufferPointer {
                                        blocks.scan(q.baseAddress!, count: count, live: $0.baseAddress!, tag: tag, first: 1000 * tag, into: &set)
                                    }
                                } else {
                                    blocks.scan(q.baseAddress!, count: count, live: nil, tag: tag, first: 1000 * tag, into: &set)
                                }
                            } else {
                                let blocks = codes.withUnsafeBufferPointer {
                                    CodeBlocks(BinaryCodes(base: $0.baseAddress ?? UnsafePointer(bitPattern: 8)!, words: words), count: count)
                                }
                                keep.append(blocks)
                                guard count > 0 else { return }
                                if let live {
                                    live.withUnsafeBufferPointer { blocks.scan(q.baseAddress!, live: $0.baseAddress!, tag: tag, into: &set) }
                                } else {
                                    blocks.scan(q.baseAddress!, live: nil, tag: tag, into: &set)
                                }
                                // CodeBlocks numbers its codes from 0: shift the expected ordinals.
                                for i in expected.indices where expected[i].tag == tag { expected[i].ordinal -= 1000 * tag }
                            }
                        }
                    }
                    expected.sort { ($0.distance, $0.tag, $0.ordinal) < ($1.distance, $1.tag, $1.ordinal) }
                    XCTAssertEqual(set.drain(), Array(expected.prefix(k)), "\(path) words \(words) trial \(trial)")
                }
            }
        }
    }
}
