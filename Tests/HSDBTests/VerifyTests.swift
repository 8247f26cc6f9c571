import Foundation
import HSDB
import HSDBTestSupport
import XCTest

/// `Database.verify` (behind `hsdb verify`): every file checked, nothing changed, the first
/// problem named by file and offset, refused while the database is open.
final class VerifyTests: XCTestCase {
    func makeDatabase(_ path: String) async throws {
        var o = DatabaseOptions()
        o.minGraphPoints = 50
        o.compaction.enabled = false
        let db = try await Database.open(at: path, options: o)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 8))
        var rng = SplitMix64(seed: 1)
        for round in 0..<3 {
            try await c.upsert((0..<200).map { Point(id: .integer(UInt64(round * 200 + $0)), vector: randomVector(8, &rng), payload: ["r": .int(Int64(round))]) })
            if round < 2 { try await c.flush() }
        }
        try await db.close()
    }

    func testCleanDatabaseVerifies() async throws {
        let path = temporaryDatabasePath(self)
        try await makeDatabase(path)
        let report = try await Database.verify(at: path)
        XCTAssertEqual(report.collections, 1)
        XCTAssertEqual(report.segments, 2)
        XCTAssertGreaterThan(report.walFiles, 0)
        XCTAssertTrue(report.tornTails.isEmpty)
    }

    func testCorruptSegmentAndWALAreNamed() async throws {
        for target in ["segments", "wal"] {
            let path = temporaryDatabasePath(self)
            try await makeDatabase(path)
            let dir = path + "/collections/c/" + target
            let file = dir + "/" + (try FileManager.default.contentsOfDirectory(atPath: dir).sorted().first!)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            let offset = target == "wal" ? 100 : bytes.count / 2
            bytes[offset] ^= 0x40
            try bytes.write(to: URL(fileURLWithPath: file))
            do {
                _ = try await Database.verify(at: path)
                XCTFail("\(target): corruption not found")
            } catch HSDBError.corruption(let c) {
                XCTAssertEqual(c.file, file, target)
            }
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)), bytes, "verify changes nothing")
        }
    }

    func testVerifyRefusesAnOpenDatabase() async throws {
        let path = temporaryDatabasePath(self)
        try await makeDatabase(path)
        let db = try await Database.open(at: path)
        do {
            _ = try await Database.verify(at: path)
            XCTFail("verified a database another opener holds")
        } catch HSDBError.databaseLocked {}
        try await db.close()
    }
}
