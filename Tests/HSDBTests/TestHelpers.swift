import Foundation
import HSDB
import HSDBTestSupport
import XCTest

func temporaryDatabasePath(_ test: XCTestCase) -> String {
    let path = NSTemporaryDirectory() + "hsdb-test-" + UUID().uuidString
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

func randomVector(_ dimension: Int, _ rng: inout SplitMix64) -> [Float] {
    (0..<dimension).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
}

/// Asserts that `body` throws `HSDBError.invalidArgument` whose message contains `fragment`.
func XCTAssertInvalid(
    _ fragment: String, file: StaticString = #filePath, line: UInt = #line, _ body: () async throws -> Void
) async {
    do {
        try await body()
        XCTFail("expected invalidArgument containing '\(fragment)'", file: file, line: line)
    } catch HSDBError.invalidArgument(let message) {
        XCTAssertTrue(message.contains(fragment), "'\(message)' does not mention '\(fragment)'", file: file, line: line)
    } catch {
        XCTFail("expected invalidArgument, got \(error)", file: file, line: line)
    }
}

/// A snapshot in the format before CAR (`HSDBSNAP` v1), written by that version's
/// `Collection.writeSnapshot`: collection "legacy", dimension 4, euclidean, attributes
/// ["made": "v1"]; points 0..<40 with vector [i, i % 7, 1, -i / 10] and payload
/// {"i": i, "even": "yes"/"no"}, then 3 and 5 deleted and 7 replaced by [0, 0, 0, 1], {"i": 700}.
let legacySnapshotFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/legacy-v1.snapshot").path

/// Points around Gaussian centres, each point with its own spread (0.5 to 2 times the
/// centres' scale), so a query's neighbours lie at many distances as real embeddings' do
/// (with one tight spread every code of a cluster is about equally near and 1-bit codes
/// cannot rank inside it), with a `parity` payload (even or odd id).
struct ClusteredPoints {
    let centres: [[Float]]
    var rng: SplitMix64

    init(dimension: Int, clusters: Int, seed: UInt64) {
        var r = SplitMix64(seed: seed)
        centres = (0..<clusters).map { _ in (0..<dimension).map { _ in r.standardNormal() } }
        rng = r
    }

    mutating func vector() -> [Float] {
        let centre = centres[Int(rng.next() % UInt64(centres.count))]
        let spread = 0.5 + 1.5 * Float(rng.next() % 1000) / 1000
        return centre.map { $0 + spread * rng.standardNormal() }
    }

    mutating func point(_ id: UInt64) -> Point {
        Point(id: .integer(id), vector: vector(), payload: ["parity": id % 2 == 0 ? "even" : "odd"])
    }

    /// `count` points with ids drawn below `range` (repeats possible: the later wins).
    mutating func batch(_ count: Int, below range: UInt64) -> [Point] { (0..<count).map { _ in point(rng.next() % range) } }
}

extension SplitMix64 {
    /// A standard normal deviate (Box-Muller).
    mutating func standardNormal() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), .leastNonzeroMagnitude)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * .pi * u2))
    }
}

/// Closes `db` and opens it again at `path`: the database and its collection `name`.
func reopen(_ db: Database, at path: String, options: DatabaseOptions, collection name: String) async throws -> (Database, HSDB.Collection) {
    try await db.close()
    let again = try await Database.open(at: path, options: options)
    return (again, try again.collection(name))
}
