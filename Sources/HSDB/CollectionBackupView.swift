import HSDBCore
import Segments
import WAL

/// A collection as a backup archives it, captured at one moment: the state at `flushedLSN`
/// (metadata, manifest, the segments it lists) and the log through `lastLSN`. Every file is
/// held as a mapping taken at capture, so a compaction that retires a segment, a retention
/// that deletes a WAL file, or an append after the capture changes nothing the backup reads.
public struct CollectionBackupView: Sendable {
    /// The first `length` bytes of a mapped file.
    public struct Bytes: Sendable {
        let region: MappedRegion
        public let length: Int

        /// Calls `body` with the bytes, in place.
        public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try region.withBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
        }
    }

    public struct SegmentFile: Sendable {
        /// The SHA-256 content id, 64 lowercase hex digits (the manifest's).
        public let contentID: String
        public let bytes: Bytes
    }

    public struct WALFile: Sendable {
        public let name: String
        public let firstLSN: UInt64
        /// The last record's LSN; firstLSN - 1 for a file without records.
        public let lastLSN: UInt64
        public let bytes: Bytes
    }

    public let name: String
    public let metadata: [UInt8]
    /// nil while the collection has never flushed (offline: no MANIFEST file).
    public let manifest: [UInt8]?
    public let flushedLSN: UInt64
    public let segments: [SegmentFile]
    public let wal: [WALFile]
    /// The last LSN the view holds: the end of its log, or the flushed LSN without one.
    public let lastLSN: UInt64
    public let commitTimes: [CollectionFiles.CommitTime]
    /// The state tree at `lastLSN`, settled.
    public let tree: StateTree?

    init(
        name: String, metadata: [UInt8], manifest: [UInt8]?, flushedLSN: UInt64, segments: [SegmentFile], log: [WALFilePrefix],
        tree: StateTree?
    ) {
        self.name = name
        self.metadata = metadata
        self.manifest = manifest
        self.flushedLSN = flushedLSN
        self.segments = segments
        wal = log.map {
            WALFile(name: $0.name, firstLSN: $0.firstLSN, lastLSN: $0.lastLSN, bytes: Bytes(region: $0.region, length: $0.length))
        }
        lastLSN = log.last.map { max($0.lastLSN, $0.firstLSN - 1) } ?? flushedLSN
        commitTimes = log.flatMap { $0.commitTimes.map { CollectionFiles.CommitTime(lsn: $0.lsn, time: $0.time) } }
        self.tree = tree?.settled()
    }
}

extension LockedDatabaseDirectory {
    /// The view of a collection of this locked (offline) directory: its whole valid log (a
    /// torn tail left out, as recovery would).
    public func backupView(ofCollection name: String) throws -> CollectionBackupView {
        let files = try files(ofCollection: name)
        do {
            let segments = try files.segments.map { s in
                let region = try fs.mapReadOnly(s.path)
                return CollectionBackupView.SegmentFile(contentID: s.contentID, bytes: .init(region: region, length: region.count))
            }
            let last = files.walFiles.last.map { max($0.lastLSN, $0.firstLSN - 1) } ?? files.flushedLSN
            let directory = path + "/" + Database.collectionsDirectoryName + "/" + name
            let tree = try DirectoryDigest.compute(collectionDirectory: directory, at: [last], through: last, fileSystem: fs)[last]
            return CollectionBackupView(
                name: name, metadata: try fs.readFile(files.metadataPath), manifest: try files.manifestPath.map { try fs.readFile($0) },
                flushedLSN: files.flushedLSN, segments: segments,
                log: try WALFilePrefix.scan(fileSystem: fs, directory: directory + "/" + Collection.walDirectoryName, through: last),
                tree: tree)
        } catch {
            throw HSDBError.wrap(error)
        }
    }
}

extension Collection {
    /// The WAL pin a capture holds while it maps the log (removed when it is done; a crash
    /// leaves it until the next capture, or until the archiver's pins are released).
    public static let backupCapturePin = "backup-capture"

    /// The view of this open collection, while writes, flushes and compactions go on: the
    /// manifest and segments as they are, and the log through the applied LSN (committed, and
    /// the LSN of the state tree, taken in the same critical section). A
    /// pin at the flushed LSN read first keeps every WAL file the manifest read after it
    /// still needs, whatever a concurrent flush moves, until the files are mapped; so a
    /// backup never waits for a flush or a merge.
    ///
    /// `keepingPin`: a pin (the archiver's) that must hold the log from the view's flushed
    /// LSN on. When the collection has no pin of that name yet, it is set there before the
    /// capture's own pin goes, so no retention can fall between them.
    public func backupView(keepingPin keep: String? = nil) async throws -> CollectionBackupView {
        let (fs, metaPath, walDirectory) = (fs, directory + "/" + CollectionMetadata.fileName, directory + "/" + Self.walDirectoryName)
        let metadata: [UInt8]
        do { metadata = try fs.readFile(metaPath) } catch { throw HSDBError.wrap(error) }
        try await pinWAL(Self.backupCapturePin, from: flushedLSN + 1)
        // Between turns of `manifestUpdates` the handles are the manifest's segments (a flush or
        // merge installs and publishes in one turn); their mappings keep a segment a merge
        // retires readable.
        let (manifest, handles, applied, tree) = await manifestUpdates.withLock {
            state.withLock { ($0.manifest, $0.segments, $0.appliedLSN, $0.tree) }
        }
        let segments = handles.reversed().map { h in
            CollectionBackupView.SegmentFile(contentID: h.segment.contentID, bytes: .init(region: h.segment.mappedFile, length: h.segment.bytes))
        }
        let log: [WALFilePrefix]
        do {
            log = try await runBlocking("hsdb.backup.view") {
                do { return try WALFilePrefix.scan(fileSystem: fs, directory: walDirectory, through: applied) } catch { throw HSDBError.wrap(error) }
            }
        } catch {
            try? await unpinWAL(Self.backupCapturePin)
            throw error
        }
        if let keep, walPinLSNs[keep] == nil {
            do {
                try await pinWAL(keep, from: manifest.flushedLSN + 1)
            } catch {
                try? await unpinWAL(Self.backupCapturePin)
                throw error
            }
        }
        try await unpinWAL(Self.backupCapturePin)
        return CollectionBackupView(
            name: name, metadata: metadata, manifest: manifest.encode(), flushedLSN: manifest.flushedLSN,
            segments: segments, log: log, tree: tree)
    }
}
