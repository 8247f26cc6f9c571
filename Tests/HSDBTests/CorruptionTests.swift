import Foundation
import HSDB
import HSDBTestSupport
import XCTest

/// Bit flips and byte changes in every kind of file hsdb writes: the database marker,
/// collection metadata, manifest, segments, WAL files and snapshot archives. Each corruption
/// is found by `Database.verify` (behind `hsdb verify`) with an error naming the file and an
/// offset inside it; opening either refuses with such an error or serves exactly the
/// uncorrupted data (never a damaged point as good); restoring a damaged snapshot is refused.
/// Every small file is corrupted at every byte; large ones at seeded random offsets
/// (HSDB_CORRUPTION_SEED replays, HSDB_CORRUPTION_OFFSETS sets how many per file).
final class CorruptionTests: XCTestCase {
    struct Trial {
        var kind: String
        var file: String
        var offset: Int
    }

    func testEveryFileKindDetectsCorruption() async throws {
        let env = ProcessInfo.processInfo.environment
        let seed = env["HSDB_CORRUPTION_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...999_999)
        let perFile = env["HSDB_CORRUPTION_OFFSETS"].flatMap(Int.init) ?? 120
        var rng = SplitMix64(seed: seed)
        let pristine = temporaryDatabasePath(self)
        try await makeVerifyDatabase(pristine)
        // Snapshots are backup CARs now (their corruption: Tests/BackupTests); the format
        // before, still read, is checked here with a file of that version.
        let snapshot = legacySnapshotFixture
        let db = try await Database.open(at: pristine)
        let expected = try allRecords(try db.collection("c"))
        try await db.close()

        var files: [(String, String)] = [("marker", pristine + "/HSDB")]
        let c = pristine + "/collections/c"
        files += [("collection.meta", c + "/collection.meta"), ("MANIFEST", c + "/MANIFEST")]
        files += try FileManager.default.contentsOfDirectory(atPath: c + "/segments").sorted().map { ("segment", c + "/segments/" + $0) }
        files += try FileManager.default.contentsOfDirectory(atPath: c + "/wal").sorted().map { ("WAL", c + "/wal/" + $0) }
        files.append(("legacy snapshot", snapshot))

        var trials: [Trial] = []
        for (kind, file) in files {
            let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as! Int
            let offsets = size <= 512 ? Array(0..<size) : (0..<perFile).map { _ in Int(rng.next() % UInt64(size)) } + [0, size - 1]
            trials += offsets.map { Trial(kind: kind, file: file, offset: $0) }
        }
        print("corruption test: seed \(seed) (replay with HSDB_CORRUPTION_SEED=\(seed)), \(trials.count) corruptions over \(files.count) files")

        var outcomes: [String: [String: Int]] = [:]
        for trial in trials {
            let flip = UInt8(1 << (rng.next() % 8))
            let replace = rng.next() % 2 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : nil
            let context = "seed \(seed): \(trial.kind) \(trial.file) byte \(trial.offset)"
            let outcome = try await corruptAndCheck(trial, pristine: pristine, expected: expected, change: { byte in
                if let r = replace, r != byte { return r }
                return byte ^ flip
            }, context: context)
            outcomes[trial.kind, default: [:]][outcome, default: 0] += 1
        }
        print("corruption test: " + outcomes.sorted { $0.key < $1.key }.map { kind, o in
            "\(kind): " + o.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }.joined(separator: "; "))
    }

    /// Corrupts one byte of a scratch copy, checks it is found and never served; returns how it
    /// was found.
    func corruptAndCheck(
        _ trial: Trial, pristine: String, expected: [PointID: Record], change: (UInt8) -> UInt8, context: String
    ) async throws -> String {
        let scratch = pristine + "-scratch"
        try? FileManager.default.removeItem(atPath: scratch)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let isSnapshot = trial.kind == "legacy snapshot"
        try FileManager.default.copyItem(atPath: pristine, toPath: scratch)
        let target = isSnapshot ? scratch + ".snapshot" : scratch + trial.file.dropFirst(pristine.count)
        if isSnapshot { try FileManager.default.copyItem(atPath: trial.file, toPath: target) }
        defer { if isSnapshot { try? FileManager.default.removeItem(atPath: target) } }
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: target)))
        bytes[trial.offset] = change(bytes[trial.offset])
        try Data(bytes).write(to: URL(fileURLWithPath: target))

        /// The error names the damaged file and an offset inside it.
        func named(_ error: any Error) -> Bool {
            switch error {
            case HSDBError.corruption(let c): return c.file == target && c.offset >= 0 && c.offset < Int64(bytes.count)
            case HSDBError.notADatabase(_, let reason): return trial.kind == "marker" && reason.contains(target) && reason.contains("offset")
            default: return false
            }
        }

        if isSnapshot {
            let db = try await Database.open(at: scratch)
            defer { Task { try? await db.close() } }
            do {
                try await db.restoreCollection("restored", fromSnapshot: target)
                XCTFail("\(context): a damaged snapshot was restored")
            } catch {
                XCTAssertTrue(named(error), "\(context): restore refused without naming the snapshot and offset: \(error)")
            }
            XCTAssertThrowsError(try db.collection("restored"), "\(context): a refused restore left a collection")
            try await db.close()
            return "refused by restore"
        }

        var outcome: String
        do {
            let report = try await Database.verify(at: scratch)
            // The WAL cannot tell a damaged last record from one a crash cut short: verify
            // reports it as a torn tail (the next open truncates it), naming file and offset.
            guard trial.kind == "WAL", let tail = report.tornTails.first, tail.hasPrefix(target + " at offset ") else {
                XCTFail("\(context): verify found nothing")
                return "missed"
            }
            outcome = "torn tail (verify)"
        } catch {
            XCTAssertTrue(named(error), "\(context): verify failed without naming the file and an offset in it: \(error)")
            outcome = "verify"
        }

        let db: Database
        do {
            db = try await Database.open(at: scratch)
        } catch {
            XCTAssertTrue(named(error), "\(context): open failed without naming the file and an offset in it: \(error)")
            return outcome + ", open refused"
        }
        // Opened: what it serves must be exactly the stored data (the damage was in bytes
        // nothing reads, like segment padding, which only the content hash covers), or for a
        // torn WAL tail, the stored data without that last write.
        let served = try allRecords(try db.collection("c"))
        try await db.close()
        for (id, r) in served {
            XCTAssertEqual(r, expected[id], "\(context): point \(id) served differently from what was stored")
        }
        if outcome == "verify" {
            XCTAssertEqual(served.count, expected.count, "\(context): points missing after an open that succeeded")
        }
        return outcome + ", open served stored data"
    }

    func allRecords(_ c: HSDB.Collection) throws -> [PointID: Record] {
        let page = try c.scroll(limit: 100_000, projection: .everything)
        return Dictionary(uniqueKeysWithValues: page.points.map { ($0.id, $0) })
    }
}
