@testable import Backup
import Foundation
import HSDB
import HSDBCore
import IPLD
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
            let kept = try db.collection(c.name).stateTree()
            XCTAssertEqual(c.digest, BackupCollection.Digest(kind: .tree, lsn: c.lastLSN, points: UInt64(kept.tree.points), root: kept.tree.root), c.name)
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

    /// Roots written before the state tree recorded the XOR digest under `digest`: restore
    /// checks it, computed from the tree's leaves, and refuses a wrong one.
    func testAnEarlierXORDigestIsStillChecked() async throws {
        let (f, summary) = try await oneBackup()
        let db = try await f.open()
        var earlier: [String: [UInt8]] = [:]
        for c in summary.archive.root.collections { earlier[c.name] = try db.collection(c.name).stateTree().tree.xorRoot }
        try await f.close()
        try rewriteRoot(summary.archive.path) { root in
            for i in root.collections.indices {
                root.collections[i].digest!.kind = .xor
                root.collections[i].digest!.root = earlier[root.collections[i].name]!
            }
        }
        var probe = summary.archive.root
        for i in probe.collections.indices { probe.collections[i].digest!.kind = .xor }
        let text = String(decoding: probe.encoded(), as: UTF8.self)
        XCTAssertTrue(text.contains("digest") && !text.contains("tree"), "written under the earlier key")
        let decoded = try BackupRoot(decoding: probe.encoded()) { BackupError.invalidArgument($0) }
        XCTAssertEqual(decoded.collections[0].digest, probe.collections[0].digest)
        let reached = try BackupRestore.restore(from: f.backups, to: f.target("earlier"))
        XCTAssertEqual(reached.map(\.digestsChecked), reached.map { [$0.lsn] })
        try rewriteRoot(summary.archive.path) { root in root.collections[1].digest!.root[5] ^= 1 }
        XCTAssertThrowsError(try BackupRestore.restore(from: f.backups, to: f.target("earlier-wrong"))) { error in
            guard case BackupError.digestMismatch(let c, _, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(c, "beta")
        }
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
