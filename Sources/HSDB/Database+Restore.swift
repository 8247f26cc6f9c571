import Foundation
import HSDBCore
import Segments
import WAL

extension Database {
    /// Replaces the collection `name` (or creates it) with the contents of a snapshot file
    /// in the format before CAR (`HSDBSNAP`, SnapshotArchive). The snapshot is checked in full first (its CRCs
    /// and SHA-256, the metadata and manifest, every segment's checksums and content hash); a
    /// bad one changes nothing. The new collection is built under a temporary name and
    /// renamed into place, so a crash leaves the old collection or the new one.
    public func restoreCollection(_ name: String, fromSnapshot snapshotPath: String) async throws {
        try Validation.checkName(name)
        let fs = self.fs
        let staged = try makeStagingDirectory()
        do {
            try await runBlocking("hsdb.restore") {
                do { try Self.stageRestore(snapshot: snapshotPath, into: staged, fs: fs) } catch { throw HSDBError.wrap(error) }
            }
        } catch {
            try? fs.removeTree(staged)
            throw error
        }
        try await installCollection(name, from: staged)
        logger.info("restored collection '\(name)' from \(snapshotPath)")
    }

    /// Checks the snapshot and lays out a complete collection directory in `staged` (the
    /// metadata, segments, manifest, and an empty WAL file that continues after the
    /// snapshot's LSN).
    private static func stageRestore(snapshot: String, into staged: String, fs: any FileSystem) throws {
        guard fs.fileExists(snapshot) else { throw HSDBError.invalidArgument("snapshot \(snapshot) does not exist") }
        let region = try fs.mapReadOnly(snapshot)
        return try region.withBytes { bytes in
            let (lsn, entries) = try SnapshotArchive.read(bytes, path: snapshot)
            func data(_ e: SnapshotArchive.Entry) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[e.offset..<(e.offset + e.length)]) }
            let metaEntry = entries.first { $0.kind == .metadata }!
            let manifestEntry = entries.first { $0.kind == .manifest }!
            _ = try CollectionMetadata.decode(Array(data(metaEntry)), path: "\(snapshot) (metadata at offset \(metaEntry.offset))")
            let manifest = try Manifest.decode(Array(data(manifestEntry)), path: "\(snapshot) (manifest at offset \(manifestEntry.offset))")
            guard manifest.flushedLSN == lsn else {
                throw HSDBError.corruption(CorruptionError(file: snapshot, offset: Int64(manifestEntry.offset), reason: "manifest LSN \(manifest.flushedLSN) differs from the snapshot's \(lsn)"))
            }
            let segmentEntries = Dictionary(entries.filter { $0.kind == .segment }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let segmentsDirectory = staged + "/" + Collection.segmentsDirectoryName
            try fs.createDirectory(segmentsDirectory)
            for listed in manifest.segments {
                let fileName = SegmentFormat.fileName(contentID: listed.contentID)
                guard let entry = segmentEntries[fileName] else {
                    throw HSDBError.corruption(CorruptionError(file: snapshot, offset: Int64(manifestEntry.offset), reason: "manifest lists \(fileName), which the snapshot does not hold"))
                }
                let path = segmentsDirectory + "/" + fileName
                try write(data(entry), to: path, fs: fs)
                do {
                    try Segment.open(path: path, fileSystem: fs).verify()
                } catch {
                    throw HSDBError.invalidArgument("segment \(fileName) at offset \(entry.offset) of \(snapshot) fails verification: \(error)")
                }
            }
            try fs.syncDirectory(segmentsDirectory)
            let walDirectory = staged + "/" + Collection.walDirectoryName
            try fs.createDirectory(walDirectory)
            try write(WALFormat.encodeFileHeader(firstLSN: lsn + 1), to: walDirectory + "/" + WALFormat.fileName(firstLSN: lsn + 1), fs: fs)
            try fs.syncDirectory(walDirectory)
            try write(Array(data(metaEntry)), to: staged + "/" + CollectionMetadata.fileName, fs: fs)
            try write(Array(data(manifestEntry)), to: staged + "/" + Manifest.fileName, fs: fs)
            try fs.syncDirectory(staged)
        }
    }

    private static func write(_ bytes: UnsafeRawBufferPointer, to path: String, fs: any FileSystem) throws {
        let file = try fs.open(path, mode: .createNew)
        defer { try? file.close() }
        try file.write(bytes, at: 0)
        try file.sync()
    }

    private static func write(_ bytes: [UInt8], to path: String, fs: any FileSystem) throws {
        try bytes.withUnsafeBytes { try write($0, to: path, fs: fs) }
    }
}
