import Foundation
import HSDB
import HSDBCore

/// What `BackupWriter.create` wrote.
public struct BackupSummary: Sendable {
    public let archive: BackupArchive
    public let blocksWritten: Int
    /// Blocks of the state that an earlier CAR of the chain already held.
    public let blocksReused: Int
}

/// Writes one backup CAR of a database directory held locked (offline: no writer runs).
///
/// Streaming: the CAR header must name the root, which is known only at the end, so the
/// header is first written with a placeholder dag-cbor CID (36 bytes, like the real one: the
/// header keeps its size), every block follows as it is made, the root block last, and then
/// the header is rewritten in place. The file is written under a temporary name, fsynced,
/// renamed and its directory fsynced, so a crash leaves no half backup under a backup name.
public enum BackupWriter {
    public static func create(
        database: LockedDatabaseDirectory, backupDirectory: String, forceFull: Bool = false,
        fileSystem fs: any FileSystem = POSIXFileSystem(), now: UInt64 = BackupClock.now()
    ) throws -> BackupSummary {
        do { try fs.createDirectories(backupDirectory) } catch { throw BackupError.engine("cannot create \(backupDirectory): \(error)") }
        let catalog = try BackupCatalog.load(directory: backupDirectory, fs: fs)
        defer { catalog.close() }
        let previous = catalog.archives.last
        let kind: BackupKind = previous == nil || forceFull ? .full : .incremental
        let sequence = (previous?.sequence ?? 0) + 1
        let name = BackupFormat.fileName(sequence: sequence, kind: kind)
        let temporary = backupDirectory + "/" + BackupFormat.temporaryPrefix + name + BackupFormat.temporarySuffix
        let sink = try ArchiveSink(path: temporary, fs: fs, known: kind == .full ? [] : catalog.cidsSinceLastFull())
        do {
            var collections: [BackupCollection] = []
            for collection in try database.collectionNames() {
                collections.append(try describe(try database.files(ofCollection: collection), into: sink, fs: fs))
            }
            let root = BackupRoot(kind: kind, sequence: sequence, createdNanoseconds: now,
                                  previous: previous?.rootCID, collections: collections)
            let rootBlock = Block(codec: .dagCBOR, bytes: root.encoded())
            let rootOffset = sink.bytesWritten
            try sink.finish(root: rootBlock)
            let path = backupDirectory + "/" + name
            try fs.rename(temporary, to: path)
            try fs.syncDirectory(backupDirectory)
            let archive = BackupArchive(fileName: name, path: path, sequence: sequence, kind: kind, rootCID: rootBlock.cid,
                                        root: root, bytes: sink.bytesWritten, rootOffset: rootOffset)
            return BackupSummary(archive: archive, blocksWritten: sink.written.count, blocksReused: sink.reused)
        } catch {
            sink.abandon()
            throw BackupError.wrap(error, file: temporary)
        }
    }

    /// Writes a collection's blocks and returns its entry in the root.
    static func describe(_ files: CollectionFiles, into sink: ArchiveSink, fs: any FileSystem) throws -> BackupCollection {
        let metadata = Block(codec: .raw, bytes: try fs.readFile(files.metadataPath))
        try sink.put(metadata)
        var manifest: CID?
        if let path = files.manifestPath {
            let block = Block(codec: .raw, bytes: try fs.readFile(path))
            try sink.put(block)
            manifest = block.cid
        }
        let segments = try files.segments.map { s in
            let (cid, bytes) = try sink.putFile(s.path)
            return BackupCollection.SegmentFile(contentID: s.contentID, file: cid, bytes: bytes)
        }
        let wal = try files.walFiles.map { w in
            let (cid, bytes) = try sink.putFile(w.path)
            return BackupCollection.WALFile(name: w.name, file: cid, bytes: bytes, firstLSN: w.firstLSN, lastLSN: w.lastLSN)
        }
        let firstLSN = files.walFiles.first?.firstLSN ?? files.flushedLSN + 1
        let lastLSN = files.walFiles.last.map { max($0.lastLSN, $0.firstLSN - 1) } ?? files.flushedLSN
        let t = files.commitTimes
        let stride = BackupFormat.timeIndexStride
        let sparse = t.indices.filter { $0 % stride == 0 || $0 == t.count - 1 }
            .map { BackupCollection.TimePoint(lsn: t[$0].lsn, time: t[$0].time) }
        return BackupCollection(
            name: files.name, metadata: metadata.cid, manifest: manifest, flushedLSN: files.flushedLSN,
            segments: segments, wal: wal, firstLSN: firstLSN, lastLSN: lastLSN,
            firstTime: t.first?.time, lastTime: t.last?.time, times: sparse)
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

    /// Streams a file into UnixFS blocks; returns its root and size.
    func putFile(_ path: String) throws -> (CID, UInt64) {
        let input = try fs.open(path, mode: .readOnly)
        defer { try? input.close() }
        var builder = UnixFSFileBuilder { [self] block in try put(block) }
        var buffer = [UInt8](repeating: 0, count: BackupFormat.readChunkBytes)
        var offset: Int64 = 0
        while true {
            let n = try buffer.withUnsafeMutableBytes { try input.read(into: $0, at: offset) }
            if n == 0 { break }
            try buffer.withUnsafeBytes { try builder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += Int64(n)
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
