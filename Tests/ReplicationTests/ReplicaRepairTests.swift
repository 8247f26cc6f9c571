import Foundation
import HSDBCore
import HSDBTestSupport
import XCTest

@testable import HSDB
@testable import Replication

/// Anti-entropy repair in place: a copy whose manifest was edited offline (points lost,
/// deleted points back) is located against its reference and set right, durably, and the
/// points' answer codec is as DESIGN.md gives it.
final class ReplicaRepairTests: XCTestCase {
    /// Point 5, version 6, vector [1, -2], payload {"a": 1}, dimension 2: computed with Python.
    func testRepairPointsGolden() throws {
        let record = Record(id: .integer(5), version: 6, vector: [1, -2], sparse: [:], payload: ["a": 1])
        let bytes = RepairPointsCodec.encode([record], lanes: [], dimension: 2)
        XCTAssertEqual(
            bytes.lowercaseHex,
            "485344425250545301000106000000000000000402000000010005000000000000000100010000803f000000c000060701016103023f46d146")
        let decoded = try RepairPointsCodec.decode(bytes, source: "test", lanes: [], dimension: 2)
        XCTAssertEqual(decoded.map(\.version), [6])
        XCTAssertEqual(decoded.map(\.point), [Point(id: .integer(5), vector: [1, -2], payload: ["a": 1])])
        var damaged = bytes
        damaged[20] ^= 1
        XCTAssertThrowsError(try RepairPointsCodec.decode(damaged, source: "leader", lanes: [], dimension: 2)) { error in
            XCTAssertTrue("\(error)".contains("leader") && "\(error)".contains("checksum"), "\(error)")
        }
    }

    private func temporaryPath() -> String {
        let path = NSTemporaryDirectory() + "hsdb-repair-" + UUID().uuidString
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    private static func vector(_ rng: inout SplitMix64) -> [Float] {
        (0..<4).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
    }

    func options() -> DatabaseOptions {
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.compaction.enabled = false
        o.minGraphPoints = 50
        return o
    }

    func testADivergedCopyIsLocatedAndSetRightInPlace() async throws {
        let root = temporaryPath()
        var rng = SplitMix64(seed: 31)
        var dbs: [Database] = []
        var batches: [[Point]] = []
        for b in 0..<5 {
            var batch: [Point] = []
            for i in 0..<100 {
                let id = PointID.integer(UInt64(b * 100 + i))
                batch.append(Point(id: id, vector: Self.vector(&rng), payload: ["b": .int(Int64(b))]))
            }
            batches.append(batch)
        }
        for side in ["reference", "copy"] {
            let db = try await Database.open(at: root + "/" + side, options: options())
            let c = try await db.createCollection("c", config: CollectionConfig(dimension: 4, hnswM: 8, hnswEfConstruction: 40))
            for batch in batches { try await c.upsert(batch) }
            try await c.flush()
            try await c.delete(ids: (0..<20).map { PointID.integer(UInt64($0)) })
            try await c.flush()
            try await c.upsert([Point(id: .integer(900), vector: [1, 2, 3, 4])])  // stays in the memtable
            dbs.append(db)
        }
        try await dbs[1].close()
        // Offline: 10 live points marked dead (lost), 5 deleted points' ordinals live again.
        let manifestPath = root + "/copy/collections/c/" + Manifest.fileName
        var manifest = try Manifest.decode(Array(try Data(contentsOf: URL(fileURLWithPath: manifestPath))), path: manifestPath)
        var entry = manifest.segments[0]
        let dead = Set(entry.dead)
        let lost = (0..<entry.count).filter { !dead.contains($0) }.prefix(60).suffix(10)
        entry.dead = Array(dead.subtracting(entry.dead.prefix(5)).union(lost)).sorted()
        manifest.segments[0] = entry
        try Data(manifest.encode()).write(to: URL(fileURLWithPath: manifestPath))

        let copyDB = try await Database.open(at: root + "/copy", options: options())
        let (reference, copy) = (try dbs[0].collection("c"), try copyDB.collection("c"))
        let (r, c) = (reference.stateTree(), copy.stateTree())
        XCTAssertEqual(r.lsn, c.lsn)
        XCTAssertNotEqual(r.tree.root, c.tree.root)
        let found = try await StateTreeComparison.locate(LocalStateTree(r.tree, lsn: r.lsn), LocalStateTree(c.tree, lsn: c.lsn))
        XCTAssertEqual(found.onlyFirst.count, 10, "lost here")
        XCTAssertEqual(found.onlySecond.count, 5, "deleted there, back here")
        let plan = try await ReplicaRepair.plan(found) { ids in
            let records = try reference.get(ids: ids, projection: Projection.everything)
            let bytes = RepairPointsCodec.encode(records, lanes: [], dimension: 4)  // as over the wire
            return try RepairPointsCodec.decode(bytes, source: "reference", lanes: [], dimension: 4)
        }
        let result = try await copy.repair(plan)
        XCTAssertEqual(result, PointRepairResult(replaced: 10, removed: 5, skipped: []))
        try await assertEqual(reference, copy)
        try await copyDB.close()
        let reopened = try await Database.open(at: root + "/copy", options: options())
        try await assertEqual(reference, try reopened.collection("c"))
        try await reopened.close()
        try await dbs[0].close()
    }

    /// Same tree, same content digest, and the lost points found by search.
    private func assertEqual(_ reference: HSDB.Collection, _ copy: HSDB.Collection) async throws {
        XCTAssertEqual(copy.stateTree().tree.root, reference.stateTree().tree.root)
        let (a, b) = (try await StateDigest.compute(reference), try await StateDigest.compute(copy))
        XCTAssertEqual(a.root, b.root, "content: every vector and payload")
        XCTAssertEqual(a.points, b.points)
        let ids = (20..<80).map { PointID.integer(UInt64($0)) }
        for p in try reference.get(ids: ids, projection: Projection.everything) {
            var exact = SearchParameters()
            exact.exact = true
            let hits = try copy.search(p.vector!, limit: 1, parameters: exact)
            XCTAssertEqual(hits.first?.id, p.id)
        }
    }
}
