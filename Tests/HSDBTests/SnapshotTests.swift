import Foundation
import HSDB
import HSDBCore
import HSDBTestSupport
import XCTest

/// Snapshots written before they were backup CARs still recover (the CAR snapshots:
/// Tests/BackupTests/CollectionSnapshotTests).
final class LegacySnapshotTests: XCTestCase {
    private func contents(_ c: Collection) throws -> [Record] {
        try c.scroll(limit: 100_000, projection: .everything).points
    }

    /// The fixture's points, as its documentation (TestHelpers) describes them.
    private func expected() -> [PointID: (vector: [Float], payload: Payload)] {
        var out: [PointID: (vector: [Float], payload: Payload)] = [:]
        for i in 0..<40 where i != 3 && i != 5 {
            let f = Float(i)
            let vector: [Float] = [f, Float(i % 7), 1, -f / 10]
            let even: String = i % 2 == 0 ? "yes" : "no"
            out[.integer(UInt64(i))] = (vector, ["i": .int(Int64(i)), "even": .string(even)])
        }
        out[.integer(7)] = ([0, 0, 0, 1], ["i": .int(700)])
        return out
    }

    func testALegacySnapshotRecoversUnderAnyNameAndTakesWrites() async throws {
        let path = temporaryDatabasePath(self)
        let file = path + "-legacy.snapshot"
        try FileManager.default.copyItem(atPath: legacySnapshotFixture, toPath: file)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: file) }
        let db = try await Database.open(at: path)
        try await db.restoreCollection("copy", fromSnapshot: file)
        let copy = try db.collection("copy")
        XCTAssertEqual(copy.config.dimension, 4)
        XCTAssertEqual(copy.config.metric, .euclidean)
        XCTAssertEqual(copy.config.attributes, ["made": "v1"])
        XCTAssertEqual(copy.appliedLSN, 3)
        let want = expected()
        let got = try contents(copy)
        XCTAssertEqual(got.count, want.count)
        for r in got {
            XCTAssertEqual(r.vector, want[r.id]?.vector, "\(r.id)")
            XCTAssertEqual(r.payload, want[r.id]?.payload, "\(r.id)")
        }
        XCTAssertEqual(try copy.search([0, 0, 0, 1], limit: 1).first?.id, .integer(7))
        let w = try await copy.upsert([Point(id: .integer(1000), vector: [1, 2, 3, 4])])
        XCTAssertGreaterThan(w.lsn, 3, "versions continue after the snapshot's LSN")
        try await db.close()
        let reopened = try await Database.open(at: path)
        XCTAssertEqual(try reopened.collection("copy").count(), want.count + 1)
        try await reopened.close()
    }

    func testADamagedLegacySnapshotIsRefusedAndChangesNothing() async throws {
        let path = temporaryDatabasePath(self)
        let file = path + "-legacy.snapshot"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: file) }
        let original = try Data(contentsOf: URL(fileURLWithPath: legacySnapshotFixture))
        let db = try await Database.open(at: path)
        let c = try await db.createCollection("legacy", config: CollectionConfig(dimension: 4))
        try await c.upsert([Point(id: .integer(1), vector: [1, 1, 1, 1])])
        let before = try contents(c)
        for (offset, bytes) in bitFlippedCopies(of: [UInt8](original), rounds: 40, seed: 3) {
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            do {
                try await db.restoreCollection("legacy", fromSnapshot: file)
                XCTFail("a snapshot with byte \(offset) flipped was accepted")
            } catch let HSDBError.corruption(e) {
                XCTAssertEqual(e.file, file)
            } catch {
                XCTFail("unexpected error for byte \(offset): \(error)")
            }
            XCTAssertEqual(try contents(try db.collection("legacy")), before)
        }
        try original.prefix(original.count / 2).write(to: URL(fileURLWithPath: file))
        do {
            try await db.restoreCollection("legacy", fromSnapshot: file)
            XCTFail("a truncated snapshot was accepted")
        } catch HSDBError.corruption {}
        XCTAssertEqual(try db.listCollections().map(\.name), ["legacy"])
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: path + "/collections").allSatisfy { !$0.hasPrefix(".") })
        try await db.close()
    }
}
