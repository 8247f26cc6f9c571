import Crypto
import HSDB
import HSDBCore
import IPLD

/// What a collection snapshot file holds and where it went.
public struct CollectionSnapshotSummary: Sendable, Equatable {
    /// Every write acknowledged before the snapshot began is in it, through this LSN.
    public let lsn: UInt64
    public let bytes: Int64
    /// SHA-256 of the whole file, lowercase hex (Qdrant's snapshot checksum).
    public let sha256: String
    public let rootCID: CID
    public let segments: Int
}

/// A collection snapshot (the Qdrant snapshot endpoints) is a standalone backup CAR: backup
/// 1 of its own chain, full, one collection, in the format of a backup directory's CARs
/// (DESIGN.md, "Backup archive"). So any IPLD tool reads it, `hsdb backup verify` checks it
/// once placed in a directory as `000001-full.car`, and one codec serves both.
public enum CollectionSnapshot {
    /// Writes a snapshot of `collection` to `path`: its state and log as captured at one
    /// moment (no flush: the memtable's records travel as the WAL tail). Written under a
    /// temporary name, fsynced, renamed, the directory fsynced; so `path` is whole or absent.
    public static func write(
        _ collection: Collection, to path: String, fileSystem fs: any FileSystem = POSIXFileSystem(),
        now: UInt64 = BackupClock.now()
    ) async throws -> CollectionSnapshotSummary {
        let view = try await collection.backupView()
        return try await runBlocking("hsdb.snapshot") { try write([view], to: path, fileSystem: fs, now: now) }
    }

    /// A full-storage snapshot (Qdrant's `POST /snapshots`): every collection in one such
    /// CAR, each captured in turn; `hsdb restore` reads it placed in a directory as
    /// `000001-full.car`.
    public static func writeStorage(
        _ collections: [Collection], to path: String, fileSystem fs: any FileSystem = POSIXFileSystem(),
        now: UInt64 = BackupClock.now()
    ) async throws -> CollectionSnapshotSummary {
        var views: [CollectionBackupView] = []
        for c in collections.sorted(by: { $0.name < $1.name }) { views.append(try await c.backupView()) }
        return try await runBlocking("hsdb.snapshot") { [views] in try write(views, to: path, fileSystem: fs, now: now) }
    }

    static func write(_ views: [CollectionBackupView], to path: String, fileSystem fs: any FileSystem, now: UInt64) throws(BackupError) -> CollectionSnapshotSummary {
        let temporary = path + BackupFormat.temporarySuffix
        do {
            let sink = try ArchiveSink(path: temporary, fs: fs, known: [])
            do {
                let described = try views.map { try BackupWriter.describe($0, into: sink) }
                let root = BackupRoot(kind: .full, sequence: 1, createdNanoseconds: now, previous: nil, collections: described)
                let rootBlock = Block(codec: .dagCBOR, bytes: root.encoded())
                try sink.finish(root: rootBlock)
                let sha256 = try sha256Hex(of: temporary, fs: fs)
                try fs.rename(temporary, to: path)
                try fs.syncDirectory(parentDirectory(of: path))
                return CollectionSnapshotSummary(lsn: views.map(\.lastLSN).max() ?? 0, bytes: sink.bytesWritten, sha256: sha256,
                                                 rootCID: rootBlock.cid, segments: views.reduce(0) { $0 + $1.segments.count })
            } catch {
                sink.abandon()
                throw error
            }
        } catch {
            throw BackupError.wrap(error, file: temporary)
        }
    }

    /// Checks the snapshot at `path` in full (every block hashed, every link resolved, the
    /// WAL continuous) and lays out its collection in `directory` (new or empty) at the
    /// snapshot's last LSN. Nothing is written when the check fails.
    public static func stage(_ path: String, into directory: String, fileSystem fs: any FileSystem = POSIXFileSystem()) throws(BackupError) -> RestoredCollection {
        let catalog = try BackupCatalog.load(archive: path, fs: fs)
        defer { catalog.close() }
        try BackupVerifier.check(catalog)
        let collections = catalog.archives[0].root.collections
        guard collections.count == 1, let name = collections.first?.name else {
            throw catalog.problem(in: catalog.archives[0], cid: catalog.archives[0].rootCID,
                                  "a collection snapshot holds one collection; this CAR holds \(collections.count)")
        }
        let window = RestoreWindow(collection: name, archives: catalog.archives)
        do {
            return try CollectionRestorer(catalog: catalog, window: window, directory: directory, fs: fs, progress: { _ in }).restore(.latest)
        } catch {
            throw BackupError.wrap(error, file: path)
        }
    }

    /// Replaces (or creates) collection `name` of `db` from the snapshot at `path`: checked
    /// in full and laid out in a staging directory of the database, then installed; a bad
    /// snapshot changes nothing. A snapshot in the format before CAR (`HSDBSNAP`) is still read.
    public static func recover(_ name: String, from path: String, into db: Database) async throws {
        guard !isLegacy(path) else { return try await db.restoreCollection(name, fromSnapshot: path) }
        let staged = try db.makeStagingDirectory()
        do {
            _ = try await runBlocking("hsdb.snapshot.recover") { try stage(path, into: staged) }
        } catch {
            try? POSIXFileSystem().removeTree(staged)
            throw error
        }
        try await db.installCollection(name, from: staged)
    }

    /// True when the file is a snapshot in the format before CAR (magic `HSDBSNAP`), which
    /// `Database.restoreCollection(_:fromSnapshot:)` still reads.
    public static func isLegacy(_ path: String, fileSystem fs: any FileSystem = POSIXFileSystem()) -> Bool {
        guard let file = try? fs.open(path, mode: .readOnly) else { return false }
        defer { try? file.close() }
        var head = [UInt8](repeating: 0, count: 8)
        let n = (try? head.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }) ?? 0
        return n == 8 && head == Array("HSDBSNAP".utf8)
    }

    public static func sha256Hex(of path: String, fs: any FileSystem = POSIXFileSystem()) throws -> String {
        let file = try fs.open(path, mode: .readOnly)
        defer { try? file.close() }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: Int64 = 0
        while true {
            let n = try buffer.withUnsafeMutableBytes { try file.read(into: $0, at: offset) }
            guard n > 0 else { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += Int64(n)
        }
        return hasher.finalize().map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 15)] }.joined()
    }

    private static let hexDigits = (0..<16).map { String($0, radix: 16) }
}
