import Foundation
import FuzzTargets
import HSDBCore
import XCTest

/// Replays the committed seed corpora through the fuzz target bodies, and a bounded number of
/// seeded random mutations of them, so every property the fuzzers check is also checked by
/// the ordinary test suite (a broken property traps, failing the run).
final class FuzzSeedTests: XCTestCase {
    static let corpusRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")

    func seeds(_ name: String) throws -> [[UInt8]] {
        let dir = Self.corpusRoot.appendingPathComponent(name)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        return try files.map { Array(try Data(contentsOf: dir.appendingPathComponent($0))) }
    }

    func replay(_ name: String, mutations: Int) throws {
        let corpus = try seeds(name) + FuzzTargets.generatedSeeds(name)
        XCTAssertFalse(corpus.isEmpty, "no seeds for \(name) in \(Self.corpusRoot.path)")
        for seed in corpus { seed.withUnsafeBytes { FuzzTargets.run(name, $0) } }
        var rng = SplitMix64(seed: 0x5eed)
        for _ in 0..<mutations {
            var input = corpus[Int(rng.next() % UInt64(corpus.count))]
            for _ in 0...(rng.next() % 4) {
                let position = input.isEmpty ? 0 : Int(rng.next() % UInt64(input.count))
                switch rng.next() % 3 {
                case 0 where !input.isEmpty: input[position] ^= UInt8(1 << (rng.next() % 8))
                case 1: input.insert(UInt8(truncatingIfNeeded: rng.next()), at: position)
                default: if !input.isEmpty { input.remove(at: position) }
                }
            }
            input.withUnsafeBytes { FuzzTargets.run(name, $0) }
        }
    }

    func testPayloadCodecSeeds() throws { try replay("payload-codec", mutations: 2000) }
    func testWALRecoverySeeds() throws { try replay("wal-recovery", mutations: 300) }
    func testSegmentReaderSeeds() throws { try replay("segment-reader", mutations: 300) }
    func testRESTRequestSeeds() throws { try replay("rest-request", mutations: 3000) }
    func testManifestSeeds() throws { try replay("manifest", mutations: 2000) }
    func testGRPCRequestSeeds() throws { try replay("grpc-request", mutations: 3000) }

    func testEveryTargetHasSeeds() throws {
        for name in FuzzTargets.names { XCTAssertFalse(try seeds(name).isEmpty && FuzzTargets.generatedSeeds(name).isEmpty, name) }
    }
}
