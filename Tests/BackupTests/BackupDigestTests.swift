@testable import Backup
import Foundation
import HSDB
import HSDBCore
import XCTest

/// The state digest in a backup's root: recorded by offline backups, checked by restore, a
/// wrong one refused with nothing written, and roots without one (older backups) still restore.
final class BackupDigestTests: XCTestCase {
    private func oneBackup() async throws -> (BackupFixture, BackupSummary) {
        let f = try BackupFixture(seed: 41)
        try await f.create(["alpha", "beta"])
        for _ in 0..<80 { try await f.step() }
        return (f, try await f.backup())
    }

    func testOfflineBackupRecordsTheDigestAndRestoreChecksIt() async throws {
        let (f, summary) = try await oneBackup()
        let db = try await f.open()
        for c in summary.archive.root.collections {
            // The offline backup's last LSN is the close marker's, which changes no point.
            let kept = try db.collection(c.name).digest()
            XCTAssertEqual(c.digest, BackupCollection.Digest(lsn: c.lastLSN, points: UInt64(kept.digest.points), root: kept.digest.root), c.name)
            XCTAssertEqual(kept.lsn + 1, c.lastLSN, c.name)
        }
        try await f.close()
        let reached = try BackupRestore.restore(from: f.backups, to: f.target("latest"))
        XCTAssertEqual(reached.map(\.digestsChecked), reached.map { [$0.lsn] })
    }

    func testAWrongDigestIsRefusedAndNothingIsWritten() async throws {
        let (f, summary) = try await oneBackup()
        try rewriteRoot(summary.archive.path) { root in
            root.collections[0].digest!.root[0] ^= 1
        }
        XCTAssertNoThrow(try BackupVerifier.verify(directory: f.backups), "the archive itself is sound")
        let target = f.target("refused")
        XCTAssertThrowsError(try BackupRestore.restore(from: f.backups, to: target)) { error in
            guard case BackupError.digestMismatch(let c, let lsn, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(c, "alpha")
            XCTAssertEqual(lsn, summary.archive.root.collections[0].lastLSN)
            XCTAssertTrue("\(error)".contains("does not match the backup's digest"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: f.root).filter { $0.hasPrefix(".restore-") }
        XCTAssertEqual(leftovers, [])
    }

    func testARootWithoutADigestStillRestores() async throws {
        let (f, summary) = try await oneBackup()
        try rewriteRoot(summary.archive.path) { root in
            for i in root.collections.indices { root.collections[i].digest = nil }
        }
        let reached = try BackupRestore.restore(from: f.backups, to: f.target("old"))
        XCTAssertEqual(reached.map(\.digestsChecked), [[], []])
        XCTAssertEqual(reached.map(\.lsn), summary.archive.root.collections.map(\.lastLSN))
    }

    /// Rewrites a CAR with its root block changed (a new, valid CID): the rest is untouched.
    private func rewriteRoot(_ path: String, _ change: (inout BackupRoot) -> Void) throws {
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        var reader = try CARReader(bytes: bytes)
        var sections: [CARSection] = []
        while let s = try reader.next() { sections.append(s) }
        let oldRoot = reader.header.roots[0]
        var root = try BackupRoot(decoding: sections.first { $0.cid == oldRoot }!.bytes) { BackupError.invalidArgument($0) }
        change(&root)
        let block = Block(codec: .dagCBOR, bytes: root.encoded())
        var out: [UInt8] = []
        var writer = try CARWriter(roots: [block.cid]) { out.append(contentsOf: $0) }
        for s in sections { try writer.write(s.cid == oldRoot ? block : s.block) }
        try Data(out).write(to: URL(fileURLWithPath: path))
    }
}
