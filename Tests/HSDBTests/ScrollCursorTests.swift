import Foundation
@testable import HSDB
import HSDBTestSupport
import XCTest

/// Scrolls as ordered cursors over the layer stack: a memtable's row order grows as writes
/// arrive (sorted runs), pages read across the active memtable, frozen ones and segments, and
/// a snapshot taken before later writes scrolls as it was.
final class ScrollCursorTests: XCTestCase {
    func options() -> DatabaseOptions {
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.compaction.enabled = false
        return o
    }

    func id(_ n: UInt64) -> PointID {
        n % 5 == 0 ? .uuid(UUID(uuidString: String(format: "00000000-0000-4000-8000-%012llx", n))!) : .integer(n)
    }

    /// Pages of 7 after every batch, with overwrites and deletes, in the active memtable, then
    /// behind frozen memtables (their flush fails) and a segment.
    func testPagesAcrossLayersAsWritesArrive() async throws {
        let fs = FaultInjectingFileSystem()
        let db = try await Database.open(at: "/db", options: options(), fileSystem: fs)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 4))
        var rng = SplitMix64(seed: 28)
        var model = EngineModel(metric: .cosine)
        func writeAndCheck(_ rounds: Int) async throws {
            for _ in 0..<rounds {
                let batch = (0..<Int(1 + rng.next() % 40)).map { _ in
                    Point(id: id(rng.next() % 600), vector: randomVector(4, &rng), payload: ["n": .int(Int64(rng.next() % 3))])
                }
                model.upsert(batch, lsn: try await c.upsert(batch).lsn)
                let doomed = (0..<Int(rng.next() % 6)).map { _ in id(rng.next() % 600) }
                try await c.delete(ids: doomed)
                model.delete(doomed)
                try checkPages(c, model, filter: nil)
            }
        }
        try await writeAndCheck(30)
        try await c.flush()
        try await writeAndCheck(15)
        fs.inject(.init(.open, nth: nil, errno: ENOSPC, pathContains: ".tmp-"))
        for _ in 0..<2 {
            do {
                try await c.flush()
                XCTFail("the flush should fail while segment files cannot be created")
            } catch {}
            try await writeAndCheck(10)
        }
        XCTAssertEqual(c.statistics().frozenMemtables, 2)
        XCTAssertEqual(c.statistics().segments, 1)
        let filter = Filter(must: [.match(key: "n", value: .int(1))])
        try checkPages(c, model, filter: filter)
        fs.clearFaults()
        try await db.close()
    }

    /// A snapshot taken before more writes (which extend the row order past it) still scrolls
    /// the points it saw, at their versions then.
    func testOlderSnapshotSkipsRowsItDoesNotSee() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self), options: options())
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 4))
        var rng = SplitMix64(seed: 7)
        var model = EngineModel(metric: .cosine)
        let first = (0..<300).map { n in Point(id: id(UInt64(n)), vector: randomVector(4, &rng)) }
        model.upsert(first, lsn: try await c.upsert(first).lsn)
        let before = c.snapshot
        let expected = model
        for _ in 0..<20 {
            let batch = (0..<25).map { _ in Point(id: id(rng.next() % 400), vector: randomVector(4, &rng)) }
            try await c.upsert(batch)
            try await c.delete(ids: [id(rng.next() % 300)])
            _ = try c.scroll(limit: 3)  // extends the row order past `before`
        }
        var seen: [(PointID, UInt64)] = []
        var offset: PointID?
        repeat {
            let page = try c.scroll(in: before, from: offset, limit: 11, projection: .payloadOnly, filter: nil)
            seen += page.points.map { ($0.id, $0.version) }
            offset = page.nextOffset
        } while offset != nil
        XCTAssertEqual(seen.map(\.0), expected.points.keys.sorted())
        XCTAssertEqual(seen.map(\.1), expected.points.keys.sorted().map { expected.points[$0]!.version })
        try await db.close()
    }

    /// The row order's runs: each sorted, together every row once, sizes shrinking by at least
    /// half from the oldest.
    func testRowOrderRunsStayGeometric() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self), options: options())
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 4))
        var rng = SplitMix64(seed: 3)
        for round in 0..<200 {
            let batch = (0..<Int(1 + rng.next() % 30)).map { _ in Point(id: id(rng.next() % 100_000), vector: randomVector(4, &rng)) }
            try await c.upsert(batch)
            let rows = c.snapshot.activeRows
            let runs = rows.order.runs(covering: rows)
            XCTAssertEqual(runs.reduce(0) { $0 + $1.count }, rows.count, "round \(round)")
            XCTAssertEqual(Set(runs.joined().map(\.row)).count, rows.count, "round \(round)")
            for run in runs { XCTAssertTrue(zip(run, run.dropFirst()).allSatisfy { RowOrder.precedes($0, $1) }, "round \(round)") }
            for (older, newer) in zip(runs, runs.dropFirst()) { XCTAssertGreaterThan(older.count, 2 * newer.count, "round \(round)") }
        }
        try await db.close()
    }

    func checkPages(_ c: HSDB.Collection, _ model: EngineModel, filter: Filter?, file: StaticString = #filePath, line: UInt = #line) throws {
        var seen: [Record] = []
        var offset: PointID?
        repeat {
            let page = try c.scroll(from: offset, limit: 7, projection: .payloadOnly, filter: filter)
            seen += page.points
            offset = page.nextOffset
        } while offset != nil
        let expected = model.points.filter { filter?.matches(id: $0.key, payload: $0.value.payload) ?? true }.keys.sorted()
        XCTAssertEqual(seen.map(\.id), expected, file: file, line: line)
        XCTAssertEqual(seen.map(\.version), expected.map { model.points[$0]!.version }, file: file, line: line)
    }
}
