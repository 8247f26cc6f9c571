import Foundation
import HSDBCore
import Segments
import WAL

extension Database {
    /// Replaces the collection `name` (or creates it) with the contents of a snapshot file
    /// written by `Collection.writeSnapshot`. The snapshot is checked in full first (its CRCs
    /// and SHA-256, the metadata and manifest, every segment's checksums and content hash); a
    /// bad one changes nothing. The new collection is built under a temporary name and
    /// renamed into place, so a crash leaves the old collection or the new one.
    public func restoreCollection(_ name: String, fromSnapshot snapshotPath: String) async throws {
        try Validation.checkName(name)
        let (fs, parent, options, logger) = (self.fs, collectionsDirectory, self.options, self.logger)
        try await catalogChanges.withLock {
            _ = try catalogState { _ in () }  // refuses when closed
            let staged = try await runBlocking("hsdb.restore") {
                do { return try Self.stageRestore(name: name, snapshot: snapshotPath, parent: parent, fs: fs) } catch { throw HSDBError.wrap(error) }
            }
            // The snapshot is good: swap it in.
            let existing = try catalogState { $0.collections.removeValue(forKey: name) }
            if let existing { try? await existing.close() }
            let collection = try await runBlocking("hsdb.restore") {
                do {
                    let final = parent + "/" + name
                    var doomed: String?
                    if fs.directoryExists(final) {
                        doomed = parent + "/.dropped-" + UUID().uuidString.lowercased()
                        try fs.rename(final, to: doomed!)
                    }
                    try fs.rename(staged, to: final)
                    try fs.syncDirectory(parent)
                    if let doomed { try fs.removeTree(doomed) }
                    return try Collection.open(directory: final, fileSystem: fs, options: options, logger: logger)
                } catch {
                    throw HSDBError.wrap(error)
                }
            }
            try catalogState { $0.collections[name] = collection }
            logger.info("restored collection '\(name)' from \(snapshotPath)")
        }
    }

    /// Checks the snapshot and lays out a complete collection directory under a temporary
    /// name in `parent` (metadata renamed to `name`, segments, manifest, and an empty WAL file
    /// that continues after the snapshot's LSN). Returns its path.
    private static func stageRestore(name: String, snapshot: String, parent: String, fs: any FileSystem) throws -> String {
        guard fs.fileExists(snapshot) else { throw HSDBError.invalidArgument("snapshot \(snapshot) does not exist") }
        let region = try fs.mapReadOnly(snapshot)
        return try region.withBytes { bytes in
            let (lsn, entries) = try SnapshotArchive.read(bytes, path: snapshot)
            func data(_ e: SnapshotArchive.Entry) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[e.offset..<(e.offset + e.length)]) }
            let metaEntry = entries.first { $0.kind == .metadata }!
            let manifestEntry = entries.first { $0.kind == .manifest }!
            let (_, config) = try CollectionMetadata.decode(Array(data(metaEntry)), path: "\(snapshot) (metadata at offset \(metaEntry.offset))")
            let manifest = try Manifest.decode(Array(data(manifestEntry)), path: "\(snapshot) (manifest at offset \(manifestEntry.offset))")
            guard manifest.flushedLSN == lsn else {
                throw HSDBError.corruption(CorruptionError(file: snapshot, offset: Int64(manifestEntry.offset), reason: "manifest LSN \(manifest.flushedLSN) differs from the snapshot's \(lsn)"))
            }
            let segmentEntries = Dictionary(entries.filter { $0.kind == .segment }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let staged = parent + "/.restore-" + UUID().uuidString.lowercased()
            do {
                try fs.createDirectory(staged)
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
                let created = UInt64(Date().timeIntervalSince1970 * 1000)
                try write(CollectionMetadata.encode(name: name, config: config, createdMilliseconds: created), to: staged + "/" + CollectionMetadata.fileName, fs: fs)
                try write(Array(data(manifestEntry)), to: staged + "/" + Manifest.fileName, fs: fs)
                try fs.syncDirectory(staged)
                return staged
            } catch {
                try? fs.removeTree(staged)
                throw error
            }
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
