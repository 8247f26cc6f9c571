#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HSDB
import HSDBTestSupport
import XCTest

/// "Fail the Nth I/O call", as SQLite tests it: a fixed workload of upserts, deletes, payload
/// updates, flushes and compactions runs once to count its file system calls, then once per N
/// with the Nth call failing (EIO, ENOSPC, or a torn write that lands a prefix first). Each run
/// checks that:
/// - what the collection serves afterwards is exactly the acknowledged operations (a refused
///   operation is not half visible);
/// - after a crash (process crash or power loss, alternating) the database opens (nothing that
///   was there is damaged), every acknowledged operation is there with its version, and a
///   refused one is either wholly there or not at all;
/// - no temporary file is left, and writes work again after the restart.
final class DiskFaultTests: XCTestCase {
    func testFailingEachIOCallOfIngestAndCompaction() async throws {
        let seed = ProcessInfo.processInfo.environment["HSDB_FAULT_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...999_999)
        let workload = FaultWorkload(seed: seed, operations: 36)
        let clean = FaultInjectingFileSystem()
        let baseline = try await workload.run(clean, failing: nil)
        XCTAssertTrue(baseline.refused.isEmpty, "seed \(seed): the workload fails without faults: \(baseline.refused)")
        let calls = baseline.calls
        print("disk fault test: seed \(seed) (replay with HSDB_FAULT_SEED=\(seed)), \(calls) I/O calls in the workload; failing each in turn")
        var refusedTotal = 0
        var tornWrites = 0
        for n in 1...calls {
            let errno = n % 2 == 0 ? ENOSPC : EIO
            let torn = n % 3 == 0 ? 7 : 0
            let fs = FaultInjectingFileSystem()
            let context = "seed \(seed), failing I/O call \(n) of \(calls) with \(errno == ENOSPC ? "ENOSPC" : "EIO")\(torn > 0 ? " (torn write)" : "")"
            let result = try await workload.run(fs, failing: .init(nil, nth: n, errno: errno, tornPrefixBytes: torn))
            refusedTotal += result.refused.count
            if torn > 0 && result.refused.contains(where: { $0.contains("write") }) { tornWrites += 1 }
            try await checkAfterRestart(fs, workload, result, powerLoss: n % 2 == 1, context: context)
        }
        print("disk fault test: \(calls) faults injected (\(tornWrites) torn writes), \(refusedTotal) operations refused, every acknowledged one kept")
    }

    /// Seed 857290 failing call 2 (found by the random seed in CI): after the refused write,
    /// the last compaction's output had the same content, so the same file name, as its one
    /// input, and retiring the input removed the file the manifest now listed. The database
    /// then did not open ("segment listed in the manifest is missing").
    func testACompactionWhoseOutputIsItsInputKeepsTheFile() async throws {
        let workload = FaultWorkload(seed: 857290, operations: 36)
        let fs = FaultInjectingFileSystem()
        let result = try await workload.run(fs, failing: .init(nil, nth: 2, errno: ENOSPC, tornPrefixBytes: 0))
        XCTAssertEqual(result.refused.count, 1)
        XCTAssertFalse(try fs.listDirectory("/db/collections/c/segments").isEmpty)
        try await checkAfterRestart(fs, workload, result, powerLoss: false, context: "seed 857290, failing I/O call 2")
    }

    /// Power loss before each I/O call of the same workload in turn: whatever no completed
    /// fsync covered (file bytes and directory entries, so a rename not followed by a
    /// directory fsync is undone) is lost, and the database must open with every acknowledged
    /// operation. Covers every point of the segment-then-manifest publication order.
    func testPowerLossBeforeEachIOCall() async throws {
        let seed = ProcessInfo.processInfo.environment["HSDB_FAULT_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...999_999)
        let workload = FaultWorkload(seed: seed, operations: 36)
        let calls = try await workload.run(FaultInjectingFileSystem(), failing: nil).calls
        print("power loss test: seed \(seed) (replay with HSDB_FAULT_SEED=\(seed)), power lost before each of \(calls) I/O calls")
        var acknowledged = 0
        for n in 1...calls {
            let fs = FaultInjectingFileSystem()
            let result = try await workload.run(fs, failing: .powerLoss(atCall: n))
            acknowledged += workload.steps.count - result.refused.count
            fs.restart()
            try await checkAfterRestart(fs, workload, result, powerLoss: true, context: "seed \(seed), power lost before I/O call \(n) of \(calls)")
        }
        print("power loss test: \(calls) power losses, \(acknowledged) acknowledged operations checked")
    }

    func checkAfterRestart(_ fs: FaultInjectingFileSystem, _ workload: FaultWorkload, _ result: FaultWorkload.Result, powerLoss: Bool, context: String) async throws {
        if powerLoss { fs.simulatePowerLoss() } else { fs.simulateProcessCrash() }
        try? await result.database.close()  // its handles are dead: this only stops its threads
        let db: Database
        do {
            db = try await Database.open(at: "/db", options: workload.options, fileSystem: fs)
        } catch {
            return XCTFail("\(context): the database does not open after the fault: \(error)")
        }
        let c = try db.collection("c")
        let stored = try c.scroll(limit: 10_000, projection: .everything).points
        var seen = Set<PointID>()
        for r in stored {
            seen.insert(r.id)
            let acked = result.model.points[r.id]
            let matchesAcked = acked.map { $0.version == r.version && $0.vector == r.vector && $0.payload == r.payload && $0.sparse == (r.sparse ?? [:]) } ?? false
            let matchesRefused = result.inDoubt[r.id, default: []].contains {
                $0.map { $0.vector == r.vector && $0.payload == r.payload && $0.sparse == (r.sparse ?? [:]) } ?? false
            }
            XCTAssertTrue(matchesAcked || matchesRefused, "\(context): point \(r.id) is neither its acknowledged state nor a refused operation's (version \(r.version))")
        }
        for (id, _) in result.model.points where !seen.contains(id) {
            XCTAssertTrue(result.inDoubt[id, default: []].contains { $0 == nil }, "\(context): acknowledged point \(id) is lost")
        }
        let leftovers = try temporaryFiles(fs, "/db")
        XCTAssertEqual(leftovers, [], "\(context): temporary files left after reopening")
        let resumed = try await c.upsert([Point(id: 9_999, vector: [Float](repeating: 1, count: FaultWorkload.dimension))])
        XCTAssertEqual(try c.get(ids: [9_999]).first?.version, resumed.lsn, "\(context): writes do not resume after the restart")
        try await db.close()
    }

    func temporaryFiles(_ fs: FaultInjectingFileSystem, _ dir: String) throws -> [String] {
        var found: [String] = []
        for name in try fs.listDirectory(dir) {
            let path = dir + "/" + name
            if name.hasSuffix(".tmp") || name.hasPrefix(".tmp") { found.append(path) }
            if fs.directoryExists(path) { found += try temporaryFiles(fs, path) }
        }
        return found
    }
}

/// The workload of the disk fault test: a fixed list of operations, run sequentially (so the
/// acknowledged ones define the state exactly), with flushes and compactions only when asked
/// (so the Nth I/O call is the same call in every run).
struct FaultWorkload {
    static let dimension = 8

    enum Step {
        case upsert([Point])
        case delete([PointID])
        case replacePayload(Payload, [PointID])
        case flush
        case compact
    }

    struct Result {
        var database: Database
        var model: EngineModel
        /// For each id a refused operation touched after its last acknowledged one: the state
        /// that operation would have left (nil: deleted).
        var inDoubt: [PointID: [EngineModel.Entry?]]
        var refused: [String]
        var calls: Int
    }

    let steps: [Step]
    let options: DatabaseOptions

    init(seed: UInt64, operations: Int) {
        var rng = SplitMix64(seed: seed)
        var steps: [Step] = []
        func ids(_ n: UInt64) -> [PointID] { Array(Set((0..<(1 + rng.next() % n)).map { _ in PointID.integer(rng.next() % 60) })).sorted() }
        for i in 0..<operations {
            switch (i % 9, rng.next() % 3) {
            case (4, _): steps.append(.flush)
            case (8, _): steps.append(i % 18 == 17 ? .compact : .flush)
            case (_, 0): steps.append(.delete(ids(5)))
            case (_, 1): steps.append(.replacePayload(["step": .int(Int64(i)), "tag": .string("t\(rng.next() % 4)")], ids(5)))
            default:
                steps.append(.upsert(ids(16).map { id in
                    Point(
                        id: id, vector: (0..<Self.dimension).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 },
                        sparse: rng.next() % 2 == 0 ? [:] : ["s": SparseVector(indices: [UInt32(rng.next() % 8), 8 + UInt32(rng.next() % 8)], values: [1, 2])],
                        payload: ["step": .int(Int64(i))])
                }))
            }
        }
        steps.append(.compact)
        self.steps = steps
        var o = DatabaseOptions()
        o.memtableFlushBytes = .max
        o.memtableStallBytes = .max
        o.compaction.enabled = false
        o.verifySegmentsOnOpen = false
        o.minGraphPoints = 16
        o.walFileSize = 2048  // rotations inside the workload
        o.walRetention = WALRetentionPolicy(maxAgeSeconds: 0, maxBytes: 0)  // flushed WAL files go at once: the manifest must be durable first
        options = o
    }

    /// Runs every step on a fresh database in `fs`, with `failing` armed after the collection
    /// exists; a refused step is recorded and the workload goes on.
    func run(_ fs: FaultInjectingFileSystem, failing: FaultInjectingFileSystem.Fault?) async throws -> Result {
        let db = try await Database.open(at: "/db", options: options, fileSystem: fs)
        let c = try await db.createCollection("c", config: CollectionConfig(
            dimension: Self.dimension, metric: .dot, hnswM: 8, hnswEfConstruction: 32, sparseVectors: ["s": SparseVectorParameters()]))
        let start = fs.totalOperations
        if let failing { fs.inject(failing) }
        var model = EngineModel(metric: .dot)
        var inDoubt: [PointID: [EngineModel.Entry?]] = [:]
        var refused: [String] = []
        for (i, step) in steps.enumerated() {
            do {
                switch step {
                case .upsert(let points):
                    let r = try await c.upsert(points)
                    model.upsert(points, lsn: r.lsn)
                    for p in points { inDoubt[p.id] = nil }
                case .delete(let ids):
                    _ = try await c.delete(ids: ids)
                    model.delete(ids)
                    for id in ids { inDoubt[id] = nil }
                case .replacePayload(let payload, let ids):
                    if let r = try await c.updatePayload(.replace(payload), ids: ids) {
                        for id in ids where model.points[id] != nil {
                            model.points[id]!.payload = payload
                            model.points[id]!.version = r.lsn
                            inDoubt[id] = nil
                        }
                    }
                case .flush: try await c.flush()
                case .compact: try await c.compact()
                }
            } catch {
                refused.append("step \(i): \(error)")
                switch step {
                case .upsert(let points):
                    for p in points { inDoubt[p.id, default: []].append(EngineModel.Entry(version: 0, vector: p.vector, payload: p.payload, sparse: p.sparse, named: p.named)) }
                case .delete(let ids):
                    for id in ids { inDoubt[id, default: []].append(nil) }
                case .replacePayload(let payload, let ids):
                    for id in ids { if var e = model.points[id] { e.payload = payload; inDoubt[id, default: []].append(e) } }
                case .flush, .compact: break
                }
            }
        }
        // What the collection serves now is exactly the acknowledged operations.
        fs.clearFaults()
        let calls = fs.totalOperations - start
        let served = try c.scroll(limit: 10_000, projection: .everything).points
        let context = failing.map { "failing I/O call \($0.nth ?? 0)" } ?? "no fault"
        XCTAssertEqual(served.map(\.id), model.points.keys.sorted(), "\(context): served ids differ from the acknowledged operations")
        for r in served {
            let e = model.points[r.id]
            XCTAssertTrue(
                e?.version == r.version && e?.vector == r.vector && e?.payload == r.payload && e?.sparse == (r.sparse ?? [:]),
                "\(context): point \(r.id) served differently from its acknowledged state")
        }
        return Result(database: db, model: model, inDoubt: inDoubt, refused: refused, calls: calls)
    }
}
