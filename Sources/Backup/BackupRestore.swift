import Foundation
import HSDB
import HSDBCore
import IPLD

/// Where a restore should take each collection.
public enum RestoreTarget: Sendable, Equatable {
    /// The last record of the latest backup.
    case latest
    case lsn(UInt64)
    /// The last clock record at or before this time (nanoseconds since the Unix epoch).
    case time(UInt64)
}

/// What a restore reached for one collection.
public struct RestoredCollection: Sendable, Equatable {
    public let name: String
    public let lsn: UInt64
    /// The commit time of the record at `lsn` (after the last clock record: the last commit
    /// time); nil when the WAL has no clock record.
    public let commitTime: UInt64?
    /// The LSNs whose recorded state digest the restored files matched (backups' last LSNs
    /// in the range restored; empty when none falls there, or in backups older than digests).
    public var digestsChecked: [UInt64] = []
}

/// `hsdb restore`: builds a new database directory from a backup directory. The whole
/// backup directory is verified first (BackupVerifier), so a broken chain refuses before
/// anything is written. The database is built in `.restore-<uuid>` next to the target and
/// renamed onto it at the end; a failure removes it, so the target appears whole or not at all.
public enum BackupRestore {
    public static func restore(
        from backupDirectory: String, to target: String, collection only: String? = nil,
        at goal: RestoreTarget = .latest, fileSystem fs: any FileSystem = POSIXFileSystem(),
        progress: @escaping (String) -> Void = { _ in }
    ) throws(BackupError) -> [RestoredCollection] {
        if case .lsn = goal, only == nil { throw .invalidArgument("a restore to an LSN needs one collection (--collection): LSNs are per collection") }
        if fs.fileExists(target) || fs.directoryExists(target) {
            let entries = (try? fs.listDirectory(target)) ?? ["?"]
            guard fs.directoryExists(target), entries.isEmpty else { throw .targetNotEmpty(target) }
        }
        progress("verifying the backups in \(backupDirectory): every block hashed, every link resolved")
        // Every block is hashed once, as the catalogue loads (one sequential pass over the
        // CARs); the verifier's walk and the extraction then check structure only.
        let catalog = try BackupCatalog.load(directory: backupDirectory, fs: fs)
        defer { catalog.close() }
        try BackupVerifier.check(catalog)
        let latest = catalog.archives.last!
        let names = only.map { [$0] } ?? latest.root.collections.map(\.name)
        let windows = names.map { RestoreWindow(collection: $0, archives: catalog.archives) }
        for w in windows where w.entries.isEmpty { throw .invalidArgument("no backup holds collection '\(w.collection)'") }
        let staging = parentDirectory(of: target) + "/.restore-" + UUID().uuidString.lowercased()
        do {
            try DatabaseLayout.createDatabaseDirectory(at: staging, fileSystem: fs)
            var reached: [RestoredCollection] = []
            for window in windows {
                let directory = staging + "/" + DatabaseLayout.collectionsDirectoryName + "/" + window.collection
                reached.append(try CollectionRestorer(catalog: catalog, window: window, directory: directory, fs: fs, progress: progress).restore(goal))
            }
            try fs.rename(staging, to: target)
            try fs.syncDirectory(parentDirectory(of: target))
            return reached
        } catch {
            try? fs.removeTree(staging)
            throw BackupError.wrap(error, file: backupDirectory)
        }
    }
}

/// Lays out one collection directory (new, or empty) at `directory`.
struct CollectionRestorer {
    let catalog: BackupCatalog
    let window: RestoreWindow
    let directory: String
    let fs: any FileSystem
    /// One line per file written (a restore of large segments takes a while).
    let progress: (String) -> Void

    var walDirectory: String { directory + "/" + DatabaseLayout.walDirectoryName }

    func restore(_ goal: RestoreTarget) throws -> RestoredCollection {
        try fs.createDirectories(directory)
        try fs.createDirectory(walDirectory)
        var staged: RestoreWindow.Entry?
        let lsn: UInt64
        switch goal {
        case .latest:
            lsn = window.entries.last!.collection.lastLSN
        case .lsn(let n):
            lsn = n
        case .time(let t):
            guard let w = window.entries.last(where: { ($0.collection.firstTime ?? .max) <= t && ($0.collection.lastTime ?? 0) >= t }) else {
                throw outside(BackupClock.format(t))
            }
            // The sparse index bounds the search: t's clock record comes before the first
            // indexed one later than t, which sits in the file of the record it times.
            let bound = w.collection.times.first { $0.time > t }?.lsn ?? .max
            try stageWAL(w, through: bound)
            staged = w
            lsn = try DatabaseLayout.commitTimes(walDirectory: walDirectory, fileSystem: fs).last { $0.time <= t }!.lsn
        }
        guard let plan = window.plan(lsn: lsn) else {
            if case .time(let t) = goal { throw outside("\(BackupClock.format(t)) (LSN \(lsn))") }
            throw outside("LSN \(lsn)")
        }
        if staged?.sequence != plan.wal.sequence {
            if staged != nil { try clearWAL() }
            try stageWAL(plan.wal, through: lsn)
        }
        try stageState(plan.segments.collection)
        let times = try DatabaseLayout.commitTimes(walDirectory: walDirectory, fileSystem: fs)
        // The clock record timing `lsn`; past the last one (a close marker), the last commit.
        let commitTime = times.first { $0.lsn >= lsn }?.time ?? times.last { $0.lsn <= lsn }?.time
        try DatabaseLayout.cutWAL(directory: walDirectory, after: lsn, fileSystem: fs)
        if try fs.listDirectory(walDirectory).isEmpty {
            // The log must not end before the manifest: an empty file continues after it.
            try write(DatabaseLayout.walFileHeader(firstLSN: lsn + 1), to: walDirectory + "/" + DatabaseLayout.walFileName(firstLSN: lsn + 1))
            try fs.syncDirectory(walDirectory)
        }
        try fs.syncDirectory(directory)
        let checked = try checkDigests(plan: plan, through: lsn)
        return RestoredCollection(name: window.collection, lsn: lsn, commitTime: commitTime, digestsChecked: checked)
    }

    /// Recomputes the state digest from the files laid out, at every LSN in the range restored
    /// where a backup of the plan's span recorded one, and compares. A mismatch means the
    /// archive and the engine disagree about the state: the restore fails.
    private func checkDigests(plan: (segments: RestoreWindow.Entry, wal: RestoreWindow.Entry), through lsn: UInt64) throws -> [UInt64] {
        let base = plan.segments.collection.flushedLSN
        var expected: [UInt64: BackupCollection.Digest] = [:]
        for e in window.entries where (plan.segments.sequence...plan.wal.sequence).contains(e.sequence) {
            if let d = e.collection.digest, (base...lsn).contains(d.lsn) { expected[d.lsn] = d }
        }
        guard !expected.isEmpty else { return [] }
        progress("checking '\(window.collection)': the state digest at \(expected.count) LSN(s) recorded by the backups")
        let found = try DirectoryDigest.compute(collectionDirectory: directory, at: Set(expected.keys), through: lsn, fileSystem: fs)
        for (at, want) in expected.sorted(by: { $0.key < $1.key }) {
            let got = found[at].map { tree in (points: tree.points, root: want.kind == .tree ? tree.settled().root : tree.xorRoot) }
            guard let got, got.root == want.root, got.points == Int(want.points) else {
                let seen = got.map { "\($0.points) points, root \($0.root.lowercaseHex)" } ?? "no state"
                throw BackupError.digestMismatch(
                    collection: window.collection, lsn: at,
                    expected: "\(want.points) points, root \(want.root.lowercaseHex)", found: seen)
            }
        }
        return expected.keys.sorted()
    }

    private func outside(_ target: String) -> BackupError {
        .outsideWindow(collection: window.collection, target: target, window: window.description)
    }

    /// The WAL files of `entry` that hold records up to `last` (a clock record sits in the
    /// file of the records it times, so the commit time of `last` is there too).
    private func stageWAL(_ entry: RestoreWindow.Entry, through last: UInt64) throws {
        for w in entry.collection.wal where w.firstLSN <= last {
            progress("restoring '\(window.collection)': WAL file \(w.name) (\(Self.megabytes(w.bytes)))")
            try extract(w.file, bytes: w.bytes, to: walDirectory + "/" + w.name)
        }
        try fs.syncDirectory(walDirectory)
    }

    private func clearWAL() throws {
        for name in try fs.listDirectory(walDirectory) { try fs.remove(walDirectory + "/" + name) }
    }

    /// Metadata, manifest and segments as of `c`'s flushed LSN.
    private func stageState(_ c: BackupCollection) throws {
        try write(try needBlock(c.metadata), to: directory + "/" + DatabaseLayout.metadataFileName)
        let segments = directory + "/" + DatabaseLayout.segmentsDirectoryName
        try fs.createDirectory(segments)
        for s in c.segments {
            progress("restoring '\(window.collection)': segment \(s.contentID.prefix(12)) (\(Self.megabytes(s.bytes)))")
            try extract(s.file, bytes: s.bytes, to: segments + "/" + DatabaseLayout.segmentFileName(contentID: s.contentID))
        }
        try fs.syncDirectory(segments)
        if let manifest = c.manifest {
            try write(try needBlock(manifest), to: directory + "/" + DatabaseLayout.manifestFileName)
        }
    }

    static func megabytes(_ bytes: UInt64) -> String {
        bytes < 1 << 20 ? "\(bytes) bytes" : "\(bytes >> 20) MiB"
    }

    private func needBlock(_ cid: CID) throws -> [UInt8] {
        guard let bytes = try catalog.block(cid) else { throw ArchiveCodecError.blockNotFound(cid) }
        return bytes
    }

    /// Lays a UnixFS file out of the CARs into `path`, synced.
    private func extract(_ root: CID, bytes: UInt64, to path: String) throws {
        let file = try fs.open(path, mode: .createNew)
        defer { try? file.close() }
        try catalog.layOut(root, bytes: bytes, into: file)
        try file.sync()
    }

    private func write(_ bytes: [UInt8], to path: String) throws {
        let file = try fs.open(path, mode: .createNew)
        defer { try? file.close() }
        try bytes.withUnsafeBytes { try file.write($0, at: 0) }
        try file.sync()
    }
}
