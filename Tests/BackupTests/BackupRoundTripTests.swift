import Backup
import Foundation
import HSDB
import HSDBCore
import Synchronization
import XCTest

/// The model-based round trip: a seeded workload over two collections (upserts, deletes,
/// flushes) with offline backups at several moments, then restores to random LSNs and
/// times; each restored collection must equal the model of the writes up to its target.
final class BackupRoundTripTests: XCTestCase {
    func testRestoresToRandomLSNsAndTimesMatchTheModel() async throws {
        let f = try BackupFixture(seed: 7)
        let listing = try await roundTrip(f)
        XCTAssertEqual(listing.archives.map(\.kind), [.full, .incremental, .incremental, .full, .incremental])
        XCTAssertEqual(listing.windows.map { $0.ranges.first?.lowerBound }, [0, 0])
    }

    /// Tiny WAL files, none kept once flushed: a backup's WAL no longer reaches back to LSN
    /// 1, so older LSNs need the segments of an older backup and the WAL of a later one.
    func testRoundTripWithWALRetention() async throws {
        let f = try BackupFixture(seed: 21)
        f.options.walFileSize = 1_024
        f.options.walRetention = WALRetentionPolicy(maxAgeSeconds: nil, maxBytes: 0)
        let listing = try await roundTrip(f)
        let first = listing.archives.last!.root.collections.map(\.firstLSN)
        XCTAssertTrue(first.allSatisfy { $0 > 1 }, "retention removed early WAL files: \(first)")
    }

    /// A point-in-time restore lays out only the WAL files up to its target (by LSN, and by
    /// time through the root's sparse time index), not the whole archived log.
    func testPointInTimeRestoreExtractsOnlyTheWALItNeeds() async throws {
        let f = try BackupFixture(seed: 23)
        f.options.walFileSize = 1_024
        try await f.create(["alpha"])
        for _ in 0..<300 { try await f.step() }
        let summary = try await f.backup()
        let alpha = summary.archive.root.collections[0]
        XCTAssertGreaterThan(alpha.wal.count, 20)
        let early = alpha.wal[alpha.wal.count / 4].firstLSN + 1
        let target = f.target("early")
        let extracted = Mutex(0)
        _ = try BackupRestore.restore(from: f.backups, to: target, collection: "alpha", at: .lsn(early)) { line in
            if line.contains(": WAL file ") { extracted.withLock { $0 += 1 } }
        }
        XCTAssertEqual(extracted.withLock { $0 }, alpha.wal.count / 4 + 1, "only the files up to LSN \(early) are extracted")
        try await check(target, ["alpha": early], f)
        let times = try DatabaseLayout.commitTimes(walDirectory: f.data + "/collections/alpha/wal", fileSystem: POSIXFileSystem())
        let pick = times[times.count / 5]
        let byTime = f.target("early-time")
        extracted.withLock { $0 = 0 }
        let reached = try BackupRestore.restore(from: f.backups, to: byTime, collection: "alpha", at: .time(pick.time)) { line in
            if line.contains(": WAL file ") { extracted.withLock { $0 += 1 } }
        }
        XCTAssertLessThan(extracted.withLock { $0 }, alpha.wal.count / 2, "the sparse time index bounds the files extracted")
        XCTAssertEqual(reached[0].lsn, times.last { $0.time <= pick.time }!.lsn)
        XCTAssertEqual(reached[0].commitTime, pick.time)
        try await check(byTime, ["alpha": reached[0].lsn], f)
    }

    private func roundTrip(_ f: BackupFixture) async throws -> BackupListing {
        try await f.create(["alpha", "beta"])
        for round in 0..<5 {
            for _ in 0..<(30 + round * 10) { try await f.step() }
            try await f.backup(full: round == 3)
        }
        let listing = try BackupListing.read(directory: f.backups)
        var random = SplitMix64(seed: 99)
        for i in 0..<40 {
            let window = listing.windows[Int(random.next() % 2)]
            let range = window.ranges[Int(random.next() % UInt64(window.ranges.count))]
            let lsn = range.lowerBound + random.next() % (range.upperBound - range.lowerBound + 1)
            let target = f.target("lsn-\(i)")
            let reached = try BackupRestore.restore(from: f.backups, to: target, collection: window.collection, at: .lsn(lsn))
            XCTAssertEqual(reached.map(\.lsn), [lsn])
            try await check(target, [window.collection: lsn], f)
        }
        // Times: each clock record's own time, and just before the next one.
        // Only times whose LSN is restorable (with retention, the WAL's early LSNs may not be).
        let alpha = listing.windows.first { $0.collection == "alpha" }!
        let times = try DatabaseLayout.commitTimes(walDirectory: f.data + "/collections/alpha/wal", fileSystem: POSIXFileSystem())
            .filter { c in alpha.ranges.contains { $0.contains(c.lsn) } }
        for i in 0..<6 {
            let pick = times[Int(random.next() % UInt64(times.count))]
            let t = pick.time + (i % 2 == 0 ? 0 : 1)
            let expectedLSN = times.last { $0.time <= t }!.lsn
            let target = f.target("time-\(i)")
            let reached = try BackupRestore.restore(from: f.backups, to: target, collection: "alpha", at: .time(t))
            XCTAssertEqual(reached.first?.lsn, expectedLSN)
            XCTAssertEqual(reached.first?.commitTime, times.first { $0.lsn >= expectedLSN }?.time)
            try await check(target, ["alpha": expectedLSN], f)
        }
        // Latest, every collection.
        let target = f.target("latest")
        let reached = try BackupRestore.restore(from: f.backups, to: target)
        try await check(target, Dictionary(uniqueKeysWithValues: reached.map { ($0.name, $0.lsn) }), f)
        XCTAssertEqual(Set(reached.map(\.name)), ["alpha", "beta"])
        return listing
    }

    private func check(_ target: String, _ lsns: [String: UInt64], _ f: BackupFixture, line: UInt = #line) async throws {
        let db = try await Database.open(at: target)
        for (name, lsn) in lsns {
            let got = try BackupFixture.contents(try db.collection(name))
            XCTAssertEqual(got, f.expected(name, at: lsn), "collection \(name) restored to LSN \(lsn)", line: line)
        }
        XCTAssertEqual(try db.listCollections().count, lsns.count, line: line)
        try await db.close()
    }
}
