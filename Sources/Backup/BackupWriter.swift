import Foundation
import HSDB
import HSDBCore
import IPLD

/// What `BackupWriter.create` wrote.
public struct BackupSummary: Sendable {
    public let archive: BackupArchive
    public let blocksWritten: Int
    /// Blocks of the state that an earlier CAR of the chain already held.
    public let blocksReused: Int
}

/// Where a backup directory's chain ends: what the next backup links to, and the blocks it
/// need not write again (every CID of the CARs back to the last full one). A server keeps
/// its tip in memory between backups instead of reading the whole directory each time.
public struct BackupChainTip: Sendable {
    /// The last backup's sequence (0: no backup yet) and root.
    public let sequence: UInt64
    public let rootCID: CID?
    let known: Set<CID>
    /// No backup to build on (an empty directory, or one pruned of every backup): the next is full.
    let needsFull: Bool
    /// When the last full backup was taken (nanoseconds since the Unix epoch), and the bytes
    /// of the incremental CARs after it: what schedules the next base backup.
    public let lastFullCreated: UInt64?
    public let incrementalBytesSinceFull: Int64

    /// The tip of the chain in `directory`, every CAR read and every block checked.
    public static func read(directory: String, fileSystem fs: any FileSystem = POSIXFileSystem()) throws(BackupError) -> BackupChainTip {
        let catalog = try BackupCatalog.load(directory: directory, fs: fs)
        defer { catalog.close() }
        let a = catalog.archives
        let lastFull = a.lastIndex { $0.kind == .full }
        return BackupChainTip(
            sequence: a.last?.sequence ?? (catalog.prune.map { $0.first - 1 } ?? 0), rootCID: a.last?.rootCID ?? catalog.prune?.previous,
            known: catalog.cidsSinceLastFull(), needsFull: a.isEmpty, lastFullCreated: lastFull.map { a[$0].root.createdNanoseconds },
            incrementalBytesSinceFull: lastFull.map { a[($0 + 1)...].reduce(0) { $0 + $1.bytes } } ?? 0)
    }

    /// True while no other writer added a backup to `directory` since this tip was read.
    func isCurrent(in directory: String, fs: any FileSystem) -> Bool {
        let names = (try? fs.listDirectory(directory)) ?? []
        return names.compactMap { BackupFormat.parse(fileName: $0)?.0 }.max() ?? 0 == sequence
    }
}

/// Writes one backup CAR from collection views (captured offline from a locked directory,
/// or online from open collections).
///
/// Streaming: the CAR header must name the root, which is known only at the end, so the
/// header is first written with a placeholder dag-cbor CID (36 bytes, like the real one: the
/// header keeps its size), every block follows as it is made, the root block last, and then
/// the header is rewritten in place. The file is written under a temporary name, fsynced,
/// renamed and its directory fsynced, so a crash leaves no half backup under a backup name.
public enum BackupWriter {
    /// An offline backup of a directory held locked (no writer runs).
    public static func create(
        database: LockedDatabaseDirectory, backupDirectory: String, forceFull: Bool = false,
        fileSystem fs: any FileSystem = POSIXFileSystem(), now: UInt64 = BackupClock.now()
    ) throws -> BackupSummary {
        let tip = try BackupChainTip.read(directory: backupDirectory, fileSystem: fs)
        let views = try database.collectionNames().map { try database.backupView(ofCollection: $0) }
        return try write(views, to: backupDirectory, after: tip, forceFull: forceFull, fileSystem: fs, now: now).summary
    }

    /// Writes the backup after `tip` (a full one when the chain is empty or `forceFull`);
    /// returns it and the new tip. Throws `chainMoved` when another writer added a backup
    /// since `tip` was read (nothing is written).
    public static func write(
        _ views: [CollectionBackupView], to backupDirectory: String, after tip: BackupChainTip, forceFull: Bool = false,
        fileSystem fs: any FileSystem = POSIXFileSystem(), now: UInt64 = BackupClock.now()
    ) throws -> (summary: BackupSummary, tip: BackupChainTip) {
        do { try fs.createDirectories(backupDirectory) } catch { throw BackupError.engine("cannot create \(backupDirectory): \(error)") }
        guard tip.isCurrent(in: backupDirectory, fs: fs) else {
            throw BackupError.invalidArgument("another writer added a backup to \(backupDirectory) after backup \(tip.sequence): read the chain again")
        }
        let kind: BackupKind = tip.needsFull || forceFull ? .full : .incremental
        let sequence = tip.sequence + 1
        let name = BackupFormat.fileName(sequence: sequence, kind: kind)
        let temporary = backupDirectory + "/" + BackupFormat.temporaryPrefix + name + BackupFormat.temporarySuffix
        let known = kind == .full ? [] : tip.known
        let sink = try ArchiveSink(path: temporary, fs: fs, known: known)
        do {
            let collections = try views.sorted { $0.name < $1.name }.map { try describe($0, into: sink) }
            let root = BackupRoot(kind: kind, sequence: sequence, createdNanoseconds: now,
                                  previous: tip.rootCID, collections: collections)
            let rootBlock = Block(codec: .dagCBOR, bytes: root.encoded())
            let rootOffset = sink.bytesWritten
            try sink.finish(root: rootBlock)
            let path = backupDirectory + "/" + name
            try fs.rename(temporary, to: path)
            try fs.syncDirectory(backupDirectory)
            let archive = BackupArchive(fileName: name, path: path, sequence: sequence, kind: kind, rootCID: rootBlock.cid,
                                        root: root, bytes: sink.bytesWritten, rootOffset: rootOffset)
            let next = BackupChainTip(
                sequence: sequence, rootCID: rootBlock.cid, known: known.union(sink.written), needsFull: false,
                lastFullCreated: kind == .full ? now : tip.lastFullCreated,
                incrementalBytesSinceFull: kind == .full ? 0 : tip.incrementalBytesSinceFull + sink.bytesWritten)
            return (BackupSummary(archive: archive, blocksWritten: sink.written.count, blocksReused: sink.reused), next)
        } catch {
            sink.abandon()
            throw BackupError.wrap(error, file: temporary)
        }
    }

    /// Writes a collection's blocks and returns its entry in the root.
    static func describe(_ view: CollectionBackupView, into sink: ArchiveSink) throws -> BackupCollection {
        let metadata = Block(codec: .raw, bytes: view.metadata)
        try sink.put(metadata)
        var manifest: CID?
        if let bytes = view.manifest {
            let block = Block(codec: .raw, bytes: bytes)
            try sink.put(block)
            manifest = block.cid
        }
        let segments = try view.segments.map { s in
            let (cid, bytes) = try sink.putFile(s.bytes)
            return BackupCollection.SegmentFile(contentID: s.contentID, file: cid, bytes: bytes)
        }
        let wal = try view.wal.map { w in
            let (cid, bytes) = try sink.putFile(w.bytes, chunkSizeBytes: BackupFormat.walChunkBytes)
            return BackupCollection.WALFile(name: w.name, file: cid, bytes: bytes, firstLSN: w.firstLSN, lastLSN: w.lastLSN)
        }
        let t = view.commitTimes
        let stride = BackupFormat.timeIndexStride
        let sparse = t.indices.filter { $0 % stride == 0 || $0 == t.count - 1 }
            .map { BackupCollection.TimePoint(lsn: t[$0].lsn, time: t[$0].time) }
        return BackupCollection(
            name: view.name, metadata: metadata.cid, manifest: manifest, flushedLSN: view.flushedLSN,
            segments: segments, wal: wal, firstLSN: view.wal.first?.firstLSN ?? view.flushedLSN + 1, lastLSN: view.lastLSN,
            firstTime: t.first?.time, lastTime: t.last?.time, times: sparse,
            digest: view.tree.map { .init(kind: .tree, lsn: view.lastLSN, points: UInt64(max(0, $0.points)), root: $0.root) })
    }
}

/// The CAR being written: skips blocks the chain already holds or this CAR already has.
/// Not Sendable: one writer, one task.
final class ArchiveSink {
    let path: String
    private let fs: any FileSystem
    private let file: any File
    private var car: CARWriter
    private let known: Set<CID>
    private(set) var written = Set<CID>()
    private(set) var reused = 0
    private let headerBytes: Int64

    /// The dag-cbor CID the header names until the root is known: 36 bytes like any root.
    static let placeholderRoot = CID(codec: .dagCBOR, digest: [UInt8](repeating: 0, count: 32))

    init(path: String, fs: any FileSystem, known: Set<CID>) throws {
        self.path = path
        self.fs = fs
        self.known = known
        file = try fs.open(path, mode: .createOrTruncate)
        car = try CARWriter(roots: [Self.placeholderRoot], file: file)
        headerBytes = car.bytesWritten
    }

    var bytesWritten: Int64 { car.bytesWritten }

    func put(_ block: Block) throws {
        if known.contains(block.cid) { reused += 1; return }
        guard written.insert(block.cid).inserted else { return }
        try car.write(block)
    }

    /// Streams a file's bytes into UnixFS blocks; returns its root and size.
    func putFile(_ file: CollectionBackupView.Bytes, chunkSizeBytes: Int = UnixFSFormat.defaultChunkSizeBytes) throws -> (CID, UInt64) {
        var builder = UnixFSFileBuilder(chunkSizeBytes: chunkSizeBytes) { [self] block in try put(block) }
        try file.withBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + BackupFormat.readChunkBytes)
                try builder.append(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
                offset = end
            }
        }
        let result = try builder.finish()
        return (result.root, result.fileSizeBytes)
    }

    /// Writes the root block last, rewrites the header to name it, syncs and closes.
    func finish(root: Block) throws {
        try car.write(root)
        var header = Varint.encode(UInt64(CARHeader(roots: [root.cid]).encoded().count))
        header.append(contentsOf: CARHeader(roots: [root.cid]).encoded())
        // Invariant: same CID length, so the same header length; the sections stay put.
        precondition(Int64(header.count) == headerBytes, "CAR header changed size")
        try header.withUnsafeBytes { try file.write($0, at: 0) }
        try file.sync()
        try file.close()
    }

    func abandon() {
        try? file.close()
        try? fs.remove(path)
    }
}
