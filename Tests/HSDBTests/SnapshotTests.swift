import Foundation
import HSDB
import HSDBCore
import HSDBTestSupport
import XCTest

final class SnapshotTests: XCTestCase {
    private func options() -> DatabaseOptions {
        var o = DatabaseOptions()
        o.memtableFlushBytes = 16 << 10  // several segments
        o.minGraphPoints = 64
        return o
    }

    private func contents(_ c: Collection) throws -> [Record] {
        try c.scroll(limit: 100_000, projection: .everything).points
    }

    private func points(_ ids: Range<Int>, seed: UInt64, tag: String) -> [Point] {
        var rng = SplitMix64(seed: seed)
        return ids.map { i in
            Point(id: .integer(UInt64(i)), vector: (0..<8).map { _ in Float(rng.next() % 1000) / 500 - 1 }, payload: ["i": .int(Int64(i)), "tag": .string(tag)])
        }
    }

    func testSnapshotRestoresTheStateAtItsLSN() async throws {
        let path = temporaryDatabasePath(self)
        let db = try await Database.open(at: path, options: options())
        let c = try await db.createCollection("src", config: CollectionConfig(dimension: 8, metric: .euclidean, attributes: ["k": "v"]))
        for batch in 0..<6 { try await c.upsert(points((batch * 100)..<(batch * 100 + 100), seed: UInt64(batch), tag: "a")) }
        try await c.delete(ids: (0..<50).map { .integer(UInt64($0)) })
        try await c.upsert(points(100..<120, seed: 99, tag: "b"))  // overwrites, still in the memtable
        let before = try contents(c)
        let file = path + "/src.snapshot"
        let summary = try await c.writeSnapshot(to: file)
        XCTAssertEqual(summary.lsn, c.appliedLSN)
        XCTAssertGreaterThan(summary.segments, 0)
        // Later writes are not in the snapshot.
        try await c.upsert(points(1000..<1010, seed: 5, tag: "late"))
        try await c.delete(ids: [.integer(300)])

        try await db.restoreCollection("copy", fromSnapshot: file)
        let copy = try db.collection("copy")
        XCTAssertEqual(copy.config, c.config)
        XCTAssertEqual(try contents(copy), before)
        // The copy takes writes and keeps them across a reopen; versions continue after the snapshot's LSN.
        let w = try await copy.upsert(points(2000..<2001, seed: 1, tag: "new"))
        XCTAssertGreaterThan(w.lsn, summary.lsn)
        let hits = try copy.search(before[10].vector!, limit: 1)
        XCTAssertEqual(hits.first?.id, before[10].id)

        // Restoring over an existing collection replaces it.
        try await db.restoreCollection("src", fromSnapshot: file)
        XCTAssertEqual(try contents(try db.collection("src")), before)
        try await db.close()

        let reopened = try await Database.open(at: path, options: options())
        XCTAssertEqual(try contents(try reopened.collection("src")), before)
        XCTAssertEqual(try reopened.collection("copy").count(), before.count + 1)
        try await reopened.close()
        let report = try await Database.verify(at: path)
        XCTAssertEqual(report.collections, 2)
    }

    func testADamagedSnapshotIsRefusedAndChangesNothing() async throws {
        let path = temporaryDatabasePath(self)
        let db = try await Database.open(at: path, options: options())
        let c = try await db.createCollection("src", config: CollectionConfig(dimension: 8))
        for batch in 0..<3 { try await c.upsert(points((batch * 100)..<(batch * 100 + 100), seed: UInt64(batch), tag: "a")) }
        let file = path + "/src.snapshot"
        let summary = try await c.writeSnapshot(to: file)
        let original = try Data(contentsOf: URL(fileURLWithPath: file))
        XCTAssertEqual(original.count, summary.bytes)
        try await c.upsert(points(0..<1, seed: 7, tag: "after"))
        let before = try contents(c)
        var rng = SplitMix64(seed: 3)
        for round in 0..<40 {
            var bytes = [UInt8](original)
            let offset = round == 0 ? bytes.count - 1 : Int(rng.next() % UInt64(bytes.count))
            bytes[offset] ^= UInt8(1 << (rng.next() % 8))
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            do {
                try await db.restoreCollection("src", fromSnapshot: file)
                XCTFail("a snapshot with byte \(offset) flipped was accepted")
            } catch let HSDBError.corruption(e) {
                XCTAssertEqual(e.file, file)
            } catch {
                XCTFail("unexpected error for byte \(offset): \(error)")
            }
            XCTAssertEqual(try contents(try db.collection("src")), before)
        }
        // Truncated.
        try original.prefix(original.count / 2).write(to: URL(fileURLWithPath: file))
        do {
            try await db.restoreCollection("src", fromSnapshot: file)
            XCTFail("a truncated snapshot was accepted")
        } catch HSDBError.corruption {}
        XCTAssertEqual(try db.listCollections().map(\.name), ["src"])
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: path + "/collections").allSatisfy { !$0.hasPrefix(".") })
        try await db.close()
    }
}
