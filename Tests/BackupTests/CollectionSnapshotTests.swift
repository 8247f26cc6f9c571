@testable import Backup
import Foundation
import HSDB
import HSDBCore
import HSDBTestSupport
import XCTest

/// The Qdrant snapshot endpoints' files: one-collection backup CARs.
final class CollectionSnapshotTests: XCTestCase {
    private var root = ""

    override func setUp() {
        root = NSTemporaryDirectory() + "hsdb-snapshot-" + UUID().uuidString.lowercased()
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

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
            Point(id: .integer(UInt64(i)), vector: (0..<8).map { _ in Float(rng.next() % 1000) / 500 - 1 },
                  payload: ["i": .int(Int64(i)), "tag": .string(tag)])
        }
    }

    func testASnapshotHoldsTheStateAtItsLSNWithoutAFlush() async throws {
        let db = try await Database.open(at: root + "/data", options: options())
        let c = try await db.createCollection("src", config: CollectionConfig(dimension: 8, metric: .euclidean, attributes: ["k": "v"]))
        for batch in 0..<6 { try await c.upsert(points((batch * 100)..<(batch * 100 + 100), seed: UInt64(batch), tag: "a")) }
        try await c.flush()
        try await c.delete(ids: (0..<50).map { .integer(UInt64($0)) })
        try await c.upsert(points(100..<120, seed: 99, tag: "b"))  // overwrites, still in the memtable
        let flushedBefore = c.flushedLSN
        let before = try contents(c)
        let file = root + "/src.snapshot"
        let summary = try await CollectionSnapshot.write(c, to: file)
        XCTAssertEqual(summary.lsn, c.appliedLSN)
        XCTAssertGreaterThan(summary.segments, 0)
        XCTAssertEqual(c.flushedLSN, flushedBefore, "a snapshot ships the memtable's records as WAL, it does not flush")
        XCTAssertLessThan(flushedBefore, summary.lsn)
        XCTAssertEqual(summary.sha256, try CollectionSnapshot.sha256Hex(of: file))
        XCTAssertFalse(FileManager.default.fileExists(atPath: file + BackupFormat.temporarySuffix))
        // Later writes are not in the snapshot.
        try await c.upsert(points(1000..<1010, seed: 5, tag: "late"))
        try await c.delete(ids: [.integer(300)])

        // The same format as a backup directory's: the verifier reads it as backup 1.
        let asBackup = root + "/as-backup"
        try FileManager.default.createDirectory(atPath: asBackup, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: file, toPath: asBackup + "/" + BackupFormat.fileName(sequence: 1, kind: .full))
        XCTAssertEqual(try BackupVerifier.verify(directory: asBackup).archives.first?.rootCID, summary.rootCID)

        try await CollectionSnapshot.recover("copy", from: file, into: db)
        let copy = try db.collection("copy")
        XCTAssertEqual(copy.config, c.config)
        XCTAssertEqual(try contents(copy), before)
        XCTAssertEqual(copy.appliedLSN, summary.lsn)
        // The copy takes writes and keeps them across a reopen; versions continue after the snapshot's LSN.
        let w = try await copy.upsert(points(2000..<2001, seed: 1, tag: "new"))
        XCTAssertGreaterThan(w.lsn, summary.lsn)
        XCTAssertEqual(try copy.search(before[10].vector!, limit: 1).first?.id, before[10].id)

        // Recovering over an existing collection replaces it.
        try await CollectionSnapshot.recover("src", from: file, into: db)
        XCTAssertEqual(try contents(try db.collection("src")), before)
        try await db.close()

        let reopened = try await Database.open(at: root + "/data", options: options())
        XCTAssertEqual(try contents(try reopened.collection("src")), before)
        XCTAssertEqual(try reopened.collection("copy").count(), before.count + 1)
        try await reopened.close()
        let report = try await Database.verify(at: root + "/data")
        XCTAssertEqual(report.collections, 2)
    }

    func testADamagedSnapshotIsRefusedAndChangesNothing() async throws {
        let data = root + "/data"
        let db = try await Database.open(at: data, options: options())
        let c = try await db.createCollection("src", config: CollectionConfig(dimension: 8))
        for batch in 0..<3 { try await c.upsert(points((batch * 100)..<(batch * 100 + 100), seed: UInt64(batch), tag: "a")) }
        let file = root + "/src.snapshot"
        let summary = try await CollectionSnapshot.write(c, to: file)
        let original = try Data(contentsOf: URL(fileURLWithPath: file))
        XCTAssertEqual(Int64(original.count), summary.bytes)
        try await c.upsert(points(0..<1, seed: 7, tag: "after"))
        let before = try contents(c)
        for (offset, bytes) in bitFlippedCopies(of: [UInt8](original), rounds: 40, seed: 3) {
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            do {
                try await CollectionSnapshot.recover("src", from: file, into: db)
                XCTFail("a snapshot with byte \(offset) flipped was accepted")
            } catch let e as BackupError {
                XCTAssertTrue(e.description.contains(file), "\(e) does not name the file")
            } catch {
                XCTFail("unexpected error for byte \(offset): \(error)")
            }
            XCTAssertEqual(try contents(try db.collection("src")), before)
        }
        try original.prefix(original.count / 2).write(to: URL(fileURLWithPath: file))
        do {
            try await CollectionSnapshot.recover("src", from: file, into: db)
            XCTFail("a truncated snapshot was accepted")
        } catch is BackupError {}
        XCTAssertEqual(try db.listCollections().map(\.name), ["src"])
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: data + "/collections").allSatisfy { !$0.hasPrefix(".") })
        try await db.close()
    }
}
