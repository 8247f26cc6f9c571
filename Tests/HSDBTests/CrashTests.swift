#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HSDB
import HSDBCore
import HSDBTestSupport
import Synchronization
import XCTest

/// Directory of the built products (the test bundle sits beside the executables).
let productsDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()

/// The durability claim tested with real processes: a child writes batches from 8 concurrent
/// tasks and reports each acknowledgement; it dies by SIGKILL, either from the parent at a
/// random moment or by itself at a named crash point inside the engine (`CrashPoint`: between
/// a WAL write and its fsync, after a segment rename and before the manifest lists it, ...);
/// the parent reopens the database and checks every acknowledged batch is there, whole, at its
/// LSN, that no batch is half there, and that no segment file outside the manifest is left.
/// The same database carries over from round to round.
///
/// HSDB_CRASH_ROUNDS sets the number of random kills (default 40), HSDB_CRASH_POINT_ROUNDS
/// the rounds per named point (default 14; 7 points); HSDB_CRASH_SEED replays a run. With
/// `MixedCrashTests` below, the suite kills 220 times by default.
final class CrashTests: XCTestCase {
    func testAcknowledgedBatchesSurviveSIGKILL() async throws {
        let schedule = CrashSchedule(randomVariable: "HSDB_CRASH_ROUNDS", 40, pointVariable: "HSDB_CRASH_POINT_ROUNDS", 14)
        let (rounds, pointRounds, seed) = (schedule.rounds, schedule.pointRounds, schedule.seed)
        print("crash test: \(schedule)")
        var rng = SplitMix64(seed: seed)
        let path = temporaryDatabasePath(self)
        var acked = AcknowledgedWrites(seed: seed)
        var killedBeforeReady = 0
        var segmentsSeen = 0
        var pointsReached: [String: Int] = [:]
        for round in 0..<rounds {
            let durability = schedule.durability(round)
            let point = schedule.point(round)
            let armed = point.map { schedule.arm($0, &rng, walPassages: 200, otherPassages: 3) }
            let child = try ChildProcess(
                productsDirectory.appendingPathComponent("CrashChild").path, [path, String(seed), "8", durability, String(round * 1_000_000)],
                environment: armed.map { ["HSDB_CRASH_AT": $0] } ?? [:])
            let early = rng.next() % 10 == 0
            if let point {
                // The child kills itself at the point; a point not reached in time is a random kill.
                if child.waitForExit(seconds: 5), child.output.contains("CRASH \(point)\n") { pointsReached[point, default: 0] += 1 }
            } else if early {
                usleep(UInt32(rng.next() % 30_000))
            } else {
                guard child.waitFor("READY\n", seconds: 120) else {
                    child.kill()
                    return XCTFail("seed \(seed) round \(round): child never became ready: \(child.output)")
                }
                usleep(UInt32(5_000 + rng.next() % 400_000))  // long enough for flushes to complete in some rounds
            }
            child.kill()
            if !child.output.contains("READY") { killedBeforeReady += 1 }
            acked.add(child.acknowledgements())
            let db = try await Database.open(at: path)
            if let c = try? db.collection(CrashWorkload.collection) {
                try CrashVerifier.verify(c, acked, context: "seed \(seed) round \(round)")
                let files = try await SegmentFiles.settled(c, path + "/collections/\(CrashWorkload.collection)/segments")
                XCTAssertEqual(files.count, c.statistics().segments, "seed \(seed) round \(round): segment files not in the manifest were left: \(files)")
                segmentsSeen = max(segmentsSeen, c.statistics().segments)
            } else {
                XCTAssertEqual(acked.count, 0, "seed \(seed) round \(round): acknowledged writes but no collection")
            }
            try await db.close()
        }
        print("crash test: \(rounds) kills (\(killedBeforeReady) before the child was ready; at named points: \(pointsReached.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))), \(acked.count) acknowledged batches verified, up to \(segmentsSeen) segments")
        XCTAssertGreaterThan(acked.count, rounds, "the children acknowledged too little to test anything")
        if pointRounds > 0 {
            for point in CrashPoint.all { XCTAssertGreaterThan(pointsReached[point] ?? 0, 0, "seed \(seed): no child ever died at crash point \(point)") }
        }
    }
}

/// The crash test with every kind of operation: a child runs `MixedCrashWorkload` (upserts,
/// deletes, payload replacements, flushes, compactions, filtered searches, and searches from
/// another task all the time), one step after another; it dies by SIGKILL at a random moment
/// or at a named crash point. The parent keeps an exact model of the acknowledged steps, and
/// after every kill checks that the reopened collection is exactly the model (every point,
/// version, vector and payload), or the model plus the one step that was in flight; that
/// exact searches (with and without a filter) equal the model's nearest points and graph
/// searches return only live points at their current version; and that no file outside the
/// manifest or temporary file is left.
///
/// HSDB_MIXED_CRASH_ROUNDS sets the random kills (default 40), HSDB_MIXED_CRASH_POINT_ROUNDS
/// the rounds per named point (default 6); HSDB_CRASH_SEED replays a run.
final class MixedCrashTests: XCTestCase {
    func testMixedWorkloadMatchesAnExactModelAfterSIGKILL() async throws {
        let schedule = CrashSchedule(randomVariable: "HSDB_MIXED_CRASH_ROUNDS", 40, pointVariable: "HSDB_MIXED_CRASH_POINT_ROUNDS", 6)
        let (rounds, pointRounds, seed) = (schedule.rounds, schedule.pointRounds, schedule.seed)
        print("mixed crash test: \(schedule)")
        var rng = SplitMix64(seed: seed)
        let path = temporaryDatabasePath(self)
        let name = MixedCrashWorkload.collection
        var model = EngineModel(metric: .dot)
        var next = 0  // the first step whose outcome is not yet known
        var inFlightApplied = 0
        var pointsReached: [String: Int] = [:]
        var writesChecked = 0
        for round in 0..<rounds {
            let context = "seed \(seed) round \(round)"
            let durability = schedule.durability(round)
            let point = schedule.point(round)
            let armed = point.map { schedule.arm($0, &rng, walPassages: 60, otherPassages: 2) }
            let child = try ChildProcess(
                productsDirectory.appendingPathComponent("CrashChild").path, ["--mixed", path, String(seed), durability, String(next)],
                environment: armed.map { ["HSDB_CRASH_AT": $0] } ?? [:])
            if let point {
                if child.waitForExit(seconds: 10), child.output.contains("CRASH \(point)\n") { pointsReached[point, default: 0] += 1 }
            } else {
                guard child.waitFor("READY\n", seconds: 120) else {
                    child.kill()
                    return XCTFail("\(context): child never became ready: \(child.output)")
                }
                usleep(UInt32(5_000 + rng.next() % 600_000))
            }
            child.kill()
            let errors = child.output.split(separator: "\n").filter { $0.hasPrefix("E ") }
            XCTAssertEqual(errors, [], "\(context): searches failed in the child")
            let acks = child.acknowledgements()
            for (i, (number, lsn)) in acks.enumerated() {
                guard number == next + i else { return XCTFail("\(context): acknowledgements out of order: step \(number), expected \(next + i)") }
                Self.apply(MixedCrashWorkload.step(seed: seed, number: number), to: &model, lsn: lsn)
                if lsn > 0 { writesChecked += 1 }
            }
            next += acks.count

            let db = try await Database.open(at: path)
            guard let c = try? db.collection(name) else {
                XCTAssertEqual(next, 0, "\(context): acknowledged steps but no collection")
                try await db.close()
                continue
            }
            let stored = try c.scroll(limit: Int(MixedCrashWorkload.idRange) + 1, projection: .everything).points
            if let difference = Self.difference(model, stored) {
                // The step in flight at the kill may have been made durable before its answer.
                var applied = model
                Self.apply(MixedCrashWorkload.step(seed: seed, number: next), to: &applied, lsn: stored.map(\.version).max() ?? 0)
                guard Self.difference(applied, stored) == nil else {
                    try await db.close()
                    return XCTFail("\(context): the collection is not the acknowledged steps (\(difference)), nor those plus step \(next) in flight")
                }
                model = applied
                next += 1
                inFlightApplied += 1
            }
            try Self.checkSearches(c, model, &rng, context: context)
            var tree = StateTree()  // the state tree rebuilt at open and replay, against the model's
            for (id, e) in model.points { tree.insert(id, version: e.version) }
            XCTAssertEqual(c.stateTree().tree.root, tree.settled().root, "\(context): the state tree is not the model's")
            let dir = path + "/collections/\(name)"
            let segmentFiles = try await SegmentFiles.settled(c, dir + "/segments")
            XCTAssertEqual(segmentFiles.count, c.statistics().segments, "\(context): segment files not in the manifest were left: \(segmentFiles)")
            let temporary = FileManager.default.subpaths(atPath: dir)?.filter { $0.hasSuffix(".tmp") || $0.contains("/.tmp") } ?? []
            XCTAssertEqual(temporary, [], "\(context): temporary files left")
            try await db.close()
        }
        print("mixed crash test: \(rounds) kills (at named points: \(pointsReached.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))), \(next) steps settled (\(writesChecked) acknowledged writes, \(inFlightApplied) in-flight steps found applied), \(model.points.count) live points at the end")
        XCTAssertGreaterThan(writesChecked, rounds, "the children acknowledged too little to test anything")
        if pointRounds > 0 {
            for point in CrashPoint.all { XCTAssertGreaterThan(pointsReached[point] ?? 0, 0, "seed \(seed): no child ever died at crash point \(point)") }
        }
    }

    static func apply(_ step: MixedCrashWorkload.Step, to model: inout EngineModel, lsn: UInt64) {
        switch step {
        case .upsert(let points): model.upsert(points, lsn: lsn)
        case .delete(let ids): model.delete(ids)
        case .replacePayload(let payload, let ids):
            for id in ids where model.points[id] != nil {
                model.points[id]!.payload = payload
                model.points[id]!.version = lsn
            }
        case .flush, .compact, .search: break
        }
    }

    /// The first way `stored` differs from the model, or nil.
    static func difference(_ model: EngineModel, _ stored: [Record]) -> String? {
        let expected = model.points.keys.sorted()
        guard stored.map(\.id) == expected else {
            let got = Set(stored.map(\.id))
            let missing = expected.filter { !got.contains($0) }.prefix(5)
            let extra = stored.map(\.id).filter { model.points[$0] == nil }.prefix(5)
            return "\(stored.count) points stored, \(expected.count) expected; missing \(Array(missing)), unexpected \(Array(extra))"
        }
        for r in stored {
            let e = model.points[r.id]!
            if r.version != e.version || r.vector != e.vector || r.payload != e.payload || (r.sparse ?? [:]) != e.sparse
                || (r.named ?? [:]) != e.named {
                return "point \(r.id): version \(r.version), expected \(e.version)\(r.payload != e.payload ? "; payload differs" : "")"
                    + "\(r.vector != e.vector ? "; vector differs" : "")\((r.sparse ?? [:]) != e.sparse ? "; sparse vectors differ" : "")"
                    + "\((r.named ?? [:]) != e.named ? "; named vectors differ" : "")"
            }
        }
        return nil
    }

    /// Exact searches equal the model's nearest points (with and without a filter on the
    /// indexed group field); graph searches return only live points at their current version,
    /// scored exactly.
    static func checkSearches(_ c: HSDB.Collection, _ model: EngineModel, _ rng: inout SplitMix64, context: String) throws {
        for _ in 0..<3 {
            let q = MixedCrashWorkload.vector(&rng)
            let group = Int64(rng.next() % 5)
            let filter = Filter(must: [.match(key: "g", value: .int(group))])
            var inGroup = model
            inGroup.points = model.points.filter { $0.value.payload["g"] == .int(group) }
            for (m, f) in [(model, nil), (inGroup, filter)] as [(EngineModel, Filter?)] {
                let expected = m.nearest(q, k: 10)
                let exact = try c.search(q, limit: 10, projection: .idsOnly, filter: f, parameters: SearchParameters(exact: true))
                XCTAssertEqual(exact.count, expected.count, "\(context): exact search\(f == nil ? "" : " with a filter") found \(exact.count) points, the model \(expected.count)")
                for (g, e) in zip(exact, expected) {
                    XCTAssertEqual(g.score, -e.1, accuracy: 1e-4, "\(context): exact search score")
                }
                for hit in try c.search(q, limit: 10, projection: .idsOnly, filter: f) {
                    guard let e = m.points[hit.id] else { XCTFail("\(context): graph search returned \(hit.id), not live\(f == nil ? "" : " or not matching")"); continue }
                    XCTAssertEqual(hit.version, e.version, "\(context): graph search returned a stale version of \(hit.id)")
                    guard let v = e.vector else { XCTFail("\(context): graph search returned \(hit.id), which has no dense vector"); continue }
                    XCTAssertEqual(hit.score, -m.distance(q, v), accuracy: 1e-4, "\(context): graph search score of \(hit.id)")
                }
                // Sparse search, exact by definition: every live point sharing a term, IDF over all live points.
                let sq = MixedCrashWorkload.sparse(&rng)
                let hits = try c.searchSparse(MixedCrashWorkload.sparseName, sq, limit: 1000, projection: .idsOnly, filter: f)
                let truth = sparseScores(model, m, sq)
                XCTAssertEqual(Set(hits.map(\.id)), Set(truth.keys), "\(context): sparse search\(f == nil ? "" : " with a filter") hit set")
                for h in hits { XCTAssertEqual(h.score, truth[h.id] ?? .nan, accuracy: 1e-3, "\(context): sparse score of \(h.id)") }
            }
        }
    }

    /// The IDF-weighted dot products of `query` with the sparse vectors of `candidates`'
    /// points (IDF counted over all of `model`'s live points).
    static func sparseScores(_ model: EngineModel, _ candidates: EngineModel, _ query: SparseVector) -> [PointID: Float] {
        let name = MixedCrashWorkload.sparseName
        let n = Double(model.points.count)
        let weights = zip(query.indices, query.values).map { i, v -> Float in
            let df = Double(model.points.values.filter { $0.sparse[name]?.indices.contains(i) ?? false }.count)
            return v * Float(log(1 + (n - df + 0.5) / (df + 0.5)))
        }
        let weighted = SparseVector(indices: query.indices, values: weights)
        var out: [PointID: Float] = [:]
        for (id, e) in candidates.points { if let v = e.sparse[name], let s = referenceDot(weighted, v) { out[id] = s } }
        return out
    }
}

/// The segment files left once the merge an open starts has finished (it writes a file not
/// yet in the manifest) and the files it retired are gone: they are removed when the last
/// reference to their segment goes, which may be a moment after the merge's lock is
/// released (seen under load: 7 files against 1 segment). Waits up to 10 s for the count to
/// match the manifest; a file never removed still fails the caller's check.
enum SegmentFiles {
    static func settled(_ c: HSDB.Collection, _ directory: String) async throws -> [String] {
        await c.waitForMaintenance()
        let deadline = Date().addingTimeInterval(10)
        while true {
            let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            if files.count == c.statistics().segments || Date() > deadline { return files }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// The kill plan both crash tests follow: random kills first, then rounds that each arm one
/// named point (in turn) for the child to die at. The counts come from the environment
/// variables named, the seed from HSDB_CRASH_SEED (random otherwise, and printed).
struct CrashSchedule: CustomStringConvertible {
    let randomRounds: Int
    let pointRounds: Int
    let seed: UInt64
    var rounds: Int { randomRounds + pointRounds * CrashPoint.all.count }

    init(randomVariable: String, _ randomDefault: Int, pointVariable: String, _ pointDefault: Int) {
        let env = ProcessInfo.processInfo.environment
        randomRounds = env[randomVariable].flatMap(Int.init) ?? randomDefault
        pointRounds = env[pointVariable].flatMap(Int.init) ?? pointDefault
        seed = env["HSDB_CRASH_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...999_999)
    }

    var description: String {
        "\(rounds) rounds (\(randomRounds) random kills, \(pointRounds) at each of \(CrashPoint.all.count) crash points), seed \(seed) (replay with HSDB_CRASH_SEED=\(seed))"
    }

    /// Every fifth round runs without fsync (kill -9 keeps the page cache: `none` survives too).
    func durability(_ round: Int) -> String { round % 5 == 4 ? "none" : "fsync" }

    /// The named point this round arms, if it is past the random ones.
    func point(_ round: Int) -> String? {
        round >= randomRounds ? CrashPoint.all[(round - randomRounds) % CrashPoint.all.count] : nil
    }

    /// `HSDB_CRASH_AT` for dying at a random passage of `point`: WAL write and sync points
    /// are passed once per write, the others once per flush, rotation or compaction.
    func arm(_ point: String, _ rng: inout SplitMix64, walPassages: UInt64, otherPassages: UInt64) -> String {
        "\(point):\(1 + rng.next() % (point.hasPrefix("wal-after-") && point != "wal-after-rotate" ? walPassages : otherPassages))"
    }
}

/// A child process whose stdout is collected by a reader thread, so a chatty child never
/// blocks on a full pipe before it is killed.
final class ChildProcess: Sendable {
    let process: Process
    private let collected = OutputBuffer()
    private let finished = DispatchSemaphore(value: 0)

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        self.process = process
        try process.run()
        let reader = pipe.fileHandleForReading
        let thread = Thread { [collected, finished] in
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                collected.bytes.withLock { $0 += data }
            }
            finished.signal()
        }
        thread.start()
    }

    var output: String { collected.bytes.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Waits (bounded) until the output contains `marker`.
    func waitFor(_ marker: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(marker) { return true }
            if !process.isRunning { return output.contains(marker) }
            usleep(1_000)
        }
        return false
    }

    /// Waits (bounded) for the process to end by itself.
    func waitForExit(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(1_000) }
        return !process.isRunning
    }

    /// SIGKILL (if still running), then wait for the process and for its output to be drained.
    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        finished.wait()
    }

    /// The "A <batch> <lsn>" lines; a line cut by the kill is ignored.
    func acknowledgements() -> [(Int, UInt64)] {
        output.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "A", let b = Int(parts[1]), let lsn = UInt64(parts[2]) else { return nil }
            return (b, lsn)
        }
    }
}

final class OutputBuffer: Sendable {
    let bytes = Mutex<[UInt8]>([])
}
