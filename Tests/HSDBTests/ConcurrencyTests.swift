import HSDB
import HSDBTestSupport
import XCTest

final class ConcurrencyTests: XCTestCase {
    /// Eight writers each rewrite their own ten points in every batch while readers check that
    /// the ten always carry one version: a reader never sees half a batch.
    func testReadersNeverSeeHalfABatch() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self))
        let c = try await db.createCollection("atomic", config: CollectionConfig(dimension: 4, metric: .dot))
        let writers = 8, rounds = 40
        try await withThrowingTaskGroup(of: Int.self) { group in
            for w in 0..<writers {
                group.addTask {
                    for round in 0..<rounds {
                        let points = (0..<10).map { i in
                            Point(id: .integer(UInt64(w * 10 + i)), vector: [Float(round), 0, 0, 0], payload: ["round": .int(Int64(round))])
                        }
                        try await c.upsert(points)
                    }
                    return 0
                }
            }
            for _ in 0..<2 {
                group.addTask {
                    var checks = 0
                    while c.appliedLSN < UInt64(writers * rounds) {
                        for w in 0..<writers {
                            let got = try c.get(ids: (0..<10).map { .integer(UInt64(w * 10 + $0)) }, projection: .everything)
                            guard !got.isEmpty else { continue }
                            XCTAssertEqual(got.count, 10, "writer \(w): \(got.count) of 10 points visible")
                            XCTAssertEqual(Set(got.map(\.version)).count, 1, "writer \(w): mixed versions")
                            XCTAssertEqual(Set(got.map { $0.vector![0] }).count, 1)
                            checks += 1
                        }
                        await Task.yield()
                    }
                    return checks
                }
            }
            var total = 0
            for try await checks in group { total += checks }
            XCTAssertGreaterThan(total, 0)
        }
        XCTAssertEqual(c.count(), writers * 10)
        let versions = try c.get(ids: (0..<UInt64(writers * 10)).map { .integer($0) }).map(\.version)
        XCTAssertEqual(Set(versions).count, writers, "each writer's last batch has one LSN")
        try await db.close()
    }
}
