import Backup
import Foundation
import HSDB
import HSDBCore
import XCTest

/// What an incremental backup costs when a WAL file grows, and the RFC 3339 text of times.
final class BackupIncrementalTests: XCTestCase {
    func testGrownWALCostsOnlyItsNewChunks() async throws {
        let f = try BackupFixture(seed: 3)
        try await f.create(["alpha"])
        let c = try await f.open().collection("alpha")
        let filler = String(repeating: "x", count: 80)
        for batch in 0..<4 {
            let points = (0..<1_000).map { i in
                Point(id: .integer(UInt64(batch * 1_000 + i)), vector: [1, 2, 3, Float(i)], payload: ["f": .string(filler)])
            }
            try await c.upsert(points)
        }
        let first = try await f.backup()
        XCTAssertGreaterThan(first.blocksWritten, 2, "the WAL file spans several 256 KiB chunks")
        try await f.open().collection("alpha").upsert([Point(id: 1, vector: [0, 0, 0, 0])])
        let second = try await f.backup()
        // The last (changed) leaf and the file's root node; every full leaf before is reused.
        XCTAssertLessThanOrEqual(second.blocksWritten, 3)
        XCTAssertGreaterThanOrEqual(second.blocksReused, first.blocksWritten - 3)
        XCTAssertLessThan(second.archive.bytes, first.archive.bytes / 2)
        let restored = try BackupRestore.restore(from: f.backups, to: f.target("grown"))
        let db = try await Database.open(at: f.target("grown"))
        XCTAssertEqual(try db.collection("alpha").count(), 4_000)
        XCTAssertEqual(restored.map(\.name), ["alpha"])
        try await db.close()
    }

    func testRFC3339RoundTrip() {
        let t: UInt64 = 1_796_169_600_123_456_789
        XCTAssertEqual(BackupClock.format(t), "2026-12-02T00:00:00.123456789Z")
        XCTAssertEqual(BackupClock.parse("2026-12-02T00:00:00.123456789Z"), t)
        XCTAssertEqual(BackupClock.parse("2026-12-02T01:00:00.5+01:00"), 1_796_169_600_500_000_000)
        XCTAssertEqual(BackupClock.parse("2026-12-02T00:00:00Z"), 1_796_169_600_000_000_000)
        XCTAssertNil(BackupClock.parse("2026-12-02 noon"))
        XCTAssertNil(BackupClock.parse("2026-12-02T00:00:00."))
    }
}
