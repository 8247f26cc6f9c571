import HSDBCore
import Segments
import WAL

/// What `Database.verify` checked.
public struct VerifyReport: Sendable {
    public var collections = 0
    public var segments = 0
    public var walFiles = 0
    public var bytesChecked: Int64 = 0
    /// Torn WAL tails found (the expected trace of a crash; the next open truncates them).
    public var tornTails: [String] = []
}

extension Database {
    /// Checks every checksum of every file of the database at `path` without changing
    /// anything: the marker, the aliases, each collection's metadata and manifest, every segment (section
    /// CRCs and content hash) and every WAL record. Throws at the first problem, naming the
    /// file and offset. Takes the directory lock, so it refuses (`databaseLocked`) while a
    /// process has the database open.
    public static func verify(at path: String, fileSystem fs: any FileSystem = POSIXFileSystem()) async throws -> VerifyReport {
        try await runBlocking("hsdb.verify") { try verifyBlocking(at: path, fs) }
    }

    static func verifyBlocking(at path: String, _ fs: any FileSystem) throws -> VerifyReport {
        guard fs.directoryExists(path) else { throw HSDBError.notADatabase(path: path, reason: "the directory does not exist") }
        let lock = try takeLock(path, fs)
        defer { lock.unlock() }
        do {
            let markerPath = path + "/" + DatabaseMarker.fileName
            guard fs.fileExists(markerPath) else { throw HSDBError.notADatabase(path: path, reason: "it has no \(DatabaseMarker.fileName) file") }
            try DatabaseMarker.check(try fs.readFile(markerPath), root: path)
            let aliasPath = path + "/" + AliasFile.fileName
            if fs.fileExists(aliasPath) { _ = try AliasFile.decode(try fs.readFile(aliasPath), path: aliasPath) }
            var report = VerifyReport()
            let parent = path + "/" + collectionsDirectoryName
            for name in try fs.listDirectory(parent) where !name.hasPrefix(".") {
                let directory = parent + "/" + name
                let metaPath = directory + "/" + CollectionMetadata.fileName
                let meta = try CollectionMetadata.decode(try fs.readFile(metaPath), path: metaPath)
                report.collections += 1
                let manifestPath = directory + "/" + Manifest.fileName
                let manifest = fs.fileExists(manifestPath) ? try Manifest.decode(try fs.readFile(manifestPath), path: manifestPath) : Manifest()
                let pinsPath = directory + "/" + WALPins.fileName
                if fs.fileExists(pinsPath) { _ = try WALPins.decode(try fs.readFile(pinsPath), path: pinsPath) }
                for entry in manifest.segments {
                    let segmentPath = directory + "/" + Collection.segmentsDirectoryName + "/" + SegmentFormat.fileName(contentID: entry.contentID)
                    guard fs.fileExists(segmentPath) else {
                        throw HSDBError.corruption(CorruptionError(file: segmentPath, offset: 0, reason: "segment listed in the manifest is missing"))
                    }
                    let segment = try Segment.open(path: segmentPath, fileSystem: fs)
                    try segment.verify()
                    report.segments += 1
                    report.bytesChecked += Int64(segment.bytes)
                }
                let wal = try WALRecovery.recover(
                    fileSystem: fs, directory: directory + "/" + Collection.walDirectoryName,
                    options: WALRecoveryOptions(readOnly: true)
                ) { record, location in
                    do {
                        _ = try OperationCodec.decode(
                            type: record.type, body: record.body, dimension: meta.config.dimension, lanes: meta.config.namedVectors)
                    } catch {
                        throw HSDBError.corruption(CorruptionError(file: location.file, offset: location.offset, reason: "record LSN \(record.lsn): \(error)"))
                    }
                }
                report.walFiles += wal.files.count
                report.bytesChecked += wal.bytesScanned
                if let tail = wal.truncatedTail { report.tornTails.append("\(tail.file) at offset \(tail.offset): \(tail.reason)") }
            }
            return report
        } catch {
            throw HSDBError.wrap(error)
        }
    }
}
