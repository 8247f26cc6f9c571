#if canImport(Glibc)
import Glibc
#endif
import HSDB
import HSDBTestSupport
import XCTest

/// Power loss at the engine level, through the fault-injecting file system: everything no
/// completed fsync covered is forgotten, and the database must come back with every
/// acknowledged write (fsync mode) and no half batch.
final class PowerLossTests: XCTestCase {
    func testAcknowledgedWritesSurvivePowerLossAtRandomSteps() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        for trial in 0..<30 {
            let fs = FaultInjectingFileSystem()
            var options = DatabaseOptions()
            options.walFileSize = 4096  // rotate often: new files must be durable before acks
            let db = try await Database.open(at: "/db", options: options, fileSystem: fs)
            let c = try await db.createCollection(CrashWorkload.collection, config: CollectionConfig(dimension: CrashWorkload.dimension, metric: .dot))
            let steps = Int(rng.next() % 40)
            var acked: [(Int, UInt64)] = []
            for number in 0..<steps {
                acked.append((number, try await c.upsert(CrashWorkload.batch(seed: seed, number: number)).lsn))
            }
            fs.simulatePowerLoss()
            let reopened = try await Database.open(at: "/db", options: options, fileSystem: fs)
            let r = try reopened.collection(CrashWorkload.collection)
            try CrashVerifier.verify(r, seed: seed, acknowledged: acked, context: "seed \(seed) trial \(trial)")
            try await reopened.close()
        }
    }

    /// Power loss while writers are in flight: in-flight writes may be lost, acknowledged ones not.
    func testPowerLossDuringConcurrentWrites() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        let fs = FaultInjectingFileSystem()
        let db = try await Database.open(at: "/db", fileSystem: fs)
        let c = try await db.createCollection(CrashWorkload.collection, config: CollectionConfig(dimension: CrashWorkload.dimension, metric: .dot))
        let log = AckLog()
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<8 {
                group.addTask {
                    for i in 0..<1000 {
                        let number = w * 1000 + i
                        guard let r = try? await c.upsert(CrashWorkload.batch(seed: seed, number: number)) else { return }
                        // The machine goes down: the old process can no longer touch the disk.
                        if log.add(number, r.lsn) == 200 { fs.simulatePowerLoss(stayDown: true) }
                    }
                }
            }
        }
        fs.restart()
        let reopened = try await Database.open(at: "/db", fileSystem: fs)
        try CrashVerifier.verify(try reopened.collection(CrashWorkload.collection), seed: seed, acknowledged: log.entries, context: "seed \(seed)")
        XCTAssertGreaterThanOrEqual(log.entries.count, 200)
        try await reopened.close()
    }

    func testCreatedCollectionSurvivesPowerLoss() async throws {
        let fs = FaultInjectingFileSystem()
        let db = try await Database.open(at: "/db", fileSystem: fs)
        try await db.createCollection("kept", config: CollectionConfig(dimension: 3))
        fs.simulatePowerLoss()
        let reopened = try await Database.open(at: "/db", fileSystem: fs)
        XCTAssertEqual(try reopened.listCollections().map(\.name), ["kept"])
        try await reopened.close()
    }

    func testDroppedCollectionStaysDroppedAfterPowerLoss() async throws {
        let fs = FaultInjectingFileSystem()
        let db = try await Database.open(at: "/db", fileSystem: fs)
        try await db.createCollection("gone", config: CollectionConfig(dimension: 3))
        try await db.dropCollection("gone")
        fs.simulatePowerLoss()
        let reopened = try await Database.open(at: "/db", fileSystem: fs)
        XCTAssertEqual(try reopened.listCollections().count, 0)
        try await reopened.close()
    }

    /// A failed fdatasync: the write is refused, nothing after it is acknowledged, and after a
    /// restart the database holds exactly what was acknowledged.
    func testFailedSyncMakesTheCollectionReadOnlyUntilReopen() async throws {
        let fs = FaultInjectingFileSystem()
        let db = try await Database.open(at: "/db", fileSystem: fs)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 2))
        try await c.upsert([Point(id: 1, vector: [1, 0])])
        fs.inject(.init(.sync, nth: 1, errno: EIO, pathContains: ".wal"))
        do {
            try await c.upsert([Point(id: 2, vector: [0, 1])])
            XCTFail("acknowledged after a failed fsync")
        } catch HSDBError.readOnly(let message) {
            XCTAssertTrue(message.contains("EIO"), message)
        }
        fs.clearFaults()
        do {
            try await c.upsert([Point(id: 3, vector: [0, 1])])
            XCTFail("acknowledged after a failed fsync")
        } catch HSDBError.readOnly {}
        XCTAssertEqual(c.count(), 1, "the refused write is not visible")
        try await db.close()
        fs.simulatePowerLoss()
        let reopened = try await Database.open(at: "/db", fileSystem: fs)
        let r = try reopened.collection("c")
        XCTAssertEqual(try r.get(ids: [1, 2, 3]).map(\.id), [1])
        try await r.upsert([Point(id: 4, vector: [1, 1])])
        try await reopened.close()
    }

    func testDiskFullRefusesTheWriteAndResumesWhenSpaceReturns() async throws {
        let fs = FaultInjectingFileSystem()
        let db = try await Database.open(at: "/db", fileSystem: fs)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 2))
        try await c.upsert([Point(id: 1, vector: [1, 0])])
        fs.inject(.init(.write, nth: nil, errno: ENOSPC, pathContains: ".wal"))
        for id in 2...4 {
            do {
                try await c.upsert([Point(id: .integer(UInt64(id)), vector: [0, 1])])
                XCTFail("acknowledged on a full disk")
            } catch HSDBError.io(let e) {
                XCTAssertEqual(e.errno, ENOSPC)
            }
        }
        fs.clearFaults()
        try await c.upsert([Point(id: 5, vector: [1, 1])])
        XCTAssertEqual(try c.get(ids: [1, 2, 3, 4, 5]).map(\.id), [1, 5])
        fs.simulatePowerLoss()
        let reopened = try await Database.open(at: "/db", fileSystem: fs)
        XCTAssertEqual(try reopened.collection("c").get(ids: [1, 2, 3, 4, 5]).map(\.id), [1, 5])
        try await reopened.close()
    }
}
