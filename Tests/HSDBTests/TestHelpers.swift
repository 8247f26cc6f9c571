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
