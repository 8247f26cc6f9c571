import Backup
import Foundation
import HSDB
import HSDBCore
import IPLD
import XCTest

/// What backup, verify and restore refuse, and what an unchanged incremental costs.
final class BackupFailureTests: XCTestCase {
    private func populated(backups count: Int) async throws -> (BackupFixture, [BackupSummary]) {
        let f = try BackupFixture(seed: 11)
        try await f.create(["alpha", "beta"])
        var summaries: [BackupSummary] = []
        for _ in 0..<count {
            for _ in 0..<40 { try await f.step() }
            summaries.append(try await f.backup())
        }
        return (f, summaries)
    }

    func testUnchangedIncrementalWritesOnlyTheRoot() async throws {
        let (f, first) = try await populated(backups: 1)
        let locked = try LockedDatabaseDirectory.open(at: f.data)
        defer { locked.close() }
        let again = try BackupWriter.create(database: locked, backupDirectory: f.backups)
        XCTAssertEqual(again.archive.kind, .incremental)
        XCTAssertEqual(again.blocksWritten, 0, "no block of the state is new (the root is always written)")
        XCTAssertGreaterThan(again.blocksReused, 0)
        XCTAssertLessThan(again.archive.bytes, 2_000)
        XCTAssertGreaterThan(first[0].archive.bytes, 5 * again.archive.bytes)
        XCTAssertEqual(try BackupVerifier.verify(directory: f.backups).archives.count, 2)
    }

    func testLockedDatabaseIsRefused() async throws {
        let (f, _) = try await populated(backups: 1)
        _ = try await f.open()
        XCTAssertThrowsError(try LockedDatabaseDirectory.open(at: f.data)) { error in
            guard case HSDBError.databaseLocked = error else { return XCTFail("\(error)") }
        }
        try await f.close()
    }

    func testFlippedByteFailsVerifyAndRestoreWritesNothing() async throws {
        let (f, summaries) = try await populated(backups: 2)
        let path = summaries[0].archive.path
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        assertProblem(in: path, f)
    }

    func testMissingCARBreaksTheChain() async throws {
        let (f, summaries) = try await populated(backups: 3)
        try FileManager.default.removeItem(atPath: summaries[1].archive.path)
        guard case .problem(let file, let offset, let cid, let reason) = verifyError(f) else { return }
        XCTAssertEqual(file, summaries[2].archive.path)
        XCTAssertEqual(offset, summaries[2].archive.rootOffset)
        XCTAssertEqual(cid, summaries[1].archive.rootCID, "names the missing root")
        XCTAssertTrue(reason.contains("backup 2 is missing"), reason)
        assertProblem(in: summaries[2].archive.path, f)
    }

    func testMissingBlockIsNamed() async throws {
        let (f, summaries) = try await populated(backups: 1)
        let archive = summaries[0].archive
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: archive.path)))
        var reader = try CARReader(bytes: bytes)
        var sections: [CARSection] = []
        while let s = try reader.next() { sections.append(s) }
        // Drop the first segment or WAL leaf: a raw block that is neither metadata nor manifest.
        let referenced = Set(archive.root.collections.flatMap { [$0.metadata] + ($0.manifest.map { [$0] } ?? []) })
        let dropped = sections.first { $0.cid.codec == .raw && !referenced.contains($0.cid) }!.cid
        var out: [UInt8] = []
        var writer = try CARWriter(roots: reader.header.roots) { out.append(contentsOf: $0) }
        for s in sections where s.cid != dropped { try writer.write(s.block) }
        try Data(out).write(to: URL(fileURLWithPath: archive.path))
        guard case .problem(let file, _, let cid, let reason) = verifyError(f) else { return XCTFail("not a located problem") }
        XCTAssertEqual(file, archive.path)
        XCTAssertEqual(cid, dropped)
        XCTAssertTrue(reason.contains("in no CAR"), reason)
        assertProblem(in: archive.path, f)
    }

    /// One block replaced by another valid block: as a whole section (the first block is then
    /// missing, the second there twice), or its bytes under the first one's CID. Both refused.
    func testABlockSwappedForAnotherValidBlockIsRefused() async throws {
        for underItsCID in [false, true] {
            let (f, summaries) = try await populated(backups: 1)
            let archive = summaries[0].archive
            var reader = try CARReader(bytes: try Array(Data(contentsOf: URL(fileURLWithPath: archive.path))))
            var sections: [CARSection] = []
            while let s = try reader.next() { sections.append(s) }
            let referenced = Set(archive.root.collections.flatMap { [$0.metadata] + ($0.manifest.map { [$0] } ?? []) })
            let raw = sections.filter { $0.cid.codec == .raw && !referenced.contains($0.cid) }
            let (victim, donor) = (raw[0], raw.first { $0.bytes != raw[0].bytes }!)
            var out: [UInt8] = []
            var writer = try CARWriter(roots: reader.header.roots) { out.append(contentsOf: $0) }
            for s in sections {
                if s.cid != victim.cid {
                    try writer.write(s.block)
                } else if underItsCID {
                    // By hand: the writer itself refuses bytes that do not hash to the CID.
                    let body = victim.cid.bytes + donor.bytes
                    out.append(contentsOf: Varint.encode(UInt64(body.count)) + body)
                } else {
                    try writer.write(donor.block)
                }
            }
            try Data(out).write(to: URL(fileURLWithPath: archive.path))
            guard case .problem(let file, _, let cid, let reason) = verifyError(f) else { return XCTFail("not a located problem") }
            XCTAssertEqual(file, archive.path)
            XCTAssertEqual(cid, victim.cid, reason)
            assertProblem(in: archive.path, f)
        }
    }

    func testNonEmptyTargetIsRefused() async throws {
        let (f, _) = try await populated(backups: 1)
        let target = f.target("busy")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: target + "/keep", contents: Data([1]))
        XCTAssertThrowsError(try BackupRestore.restore(from: f.backups, to: target)) { error in
            guard case BackupError.targetNotEmpty(let p) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(p, target)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), ["keep"])
    }

    func testTargetOutsideTheWindowNamesTheWindow() async throws {
        let (f, _) = try await populated(backups: 1)
        let window = try BackupListing.read(directory: f.backups).windows.first { $0.collection == "alpha" }!
        let beyond = window.ranges.last!.upperBound + 5
        XCTAssertThrowsError(try BackupRestore.restore(from: f.backups, to: f.target("far"), collection: "alpha", at: .lsn(beyond))) { error in
            guard case BackupError.outsideWindow(let c, let t, let w) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(c, "alpha")
            XCTAssertEqual(t, "LSN \(beyond)")
            XCTAssertTrue(w.contains("LSN 0...\(window.ranges.last!.upperBound)"), w)
        }
        XCTAssertThrowsError(try BackupRestore.restore(from: f.backups, to: f.target("early"), collection: "alpha", at: .time(1_000)))
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.target("far")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.target("early")))
    }

    private func verifyError(_ f: BackupFixture) -> BackupError? {
        do {
            _ = try BackupVerifier.verify(directory: f.backups)
            XCTFail("verify passed")
            return nil
        } catch {
            return error
        }
    }

    /// Verify fails naming `path`; restore refuses and leaves nothing behind.
    private func assertProblem(in path: String, _ f: BackupFixture, line: UInt = #line) {
        guard case .problem(let file, _, _, _) = verifyError(f) else { return XCTFail("not a located problem", line: line) }
        XCTAssertEqual(file, path, line: line)
        let target = f.target("refused")
        XCTAssertThrowsError(try BackupRestore.restore(from: f.backups, to: target), line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: target), line: line)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: f.root))?.filter { $0.hasPrefix(".restore-") } ?? []
        XCTAssertEqual(leftovers, [], line: line)
    }
}
