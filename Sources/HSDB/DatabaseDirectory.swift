import HSDBCore
import Segments
import WAL

/// A database directory seen as files, for tools that copy them while no engine runs (the
/// offline backup): the database lock is held from `open` until `close`, so no writer can
/// change a file underneath. Nothing is written: the WAL is scanned read-only.
///
/// Lifetime: call `close` (or drop the last reference) to release the lock.
public final class LockedDatabaseDirectory: Sendable {
    public let path: String
    let fs: any FileSystem
    private let lock: any FileLock

    private init(path: String, fs: any FileSystem, lock: any FileLock) {
        self.path = path
        self.fs = fs
        self.lock = lock
    }

    /// Takes the lock of an existing database directory and checks its marker. Throws
    /// `databaseLocked` (naming the holder's pid) while a server or another command has it.
    public static func open(at path: String, fileSystem fs: any FileSystem = POSIXFileSystem()) throws -> LockedDatabaseDirectory {
        do {
            guard fs.fileExists(path + "/" + DatabaseMarker.fileName) else {
                throw HSDBError.notADatabase(path: path, reason: "it has no \(DatabaseMarker.fileName) file")
            }
            let lock = try Database.takeLock(path, fs)
            do {
                try DatabaseMarker.check(try fs.readFile(path + "/" + DatabaseMarker.fileName), root: path)
            } catch {
                lock.unlock()
                throw error
            }
            return LockedDatabaseDirectory(path: path, fs: fs, lock: lock)
        } catch {
            throw HSDBError.wrap(error)
        }
    }

    public func close() { lock.unlock() }

    /// Collection names, sorted (dot-names, left by an interrupted create or drop, skipped).
    public func collectionNames() throws -> [String] {
        let parent = path + "/" + Database.collectionsDirectoryName
        guard fs.directoryExists(parent) else { return [] }
        do {
            return try fs.listDirectory(parent)
                .filter { !$0.hasPrefix(".") && fs.directoryExists(parent + "/" + $0) }.sorted()
        } catch {
            throw HSDBError.wrap(error)
        }
    }

    /// The files of one collection: metadata, manifest, the segments it lists, the WAL files
    /// with their LSN ranges, and every commit time in the WAL.
    public func files(ofCollection name: String) throws -> CollectionFiles {
        let directory = path + "/" + Database.collectionsDirectoryName + "/" + name
        do {
            return try CollectionFiles.read(name: name, directory: directory, fs: fs)
        } catch {
            throw HSDBError.wrap(error)
        }
    }
}

/// One collection directory as files (see `LockedDatabaseDirectory.files(ofCollection:)`).
public struct CollectionFiles: Sendable {
    public struct SegmentFile: Sendable, Equatable {
        /// The SHA-256 content id, 64 lowercase hex digits (the manifest's).
        public let contentID: String
        public let path: String
    }

    public struct WALFile: Sendable, Equatable {
        public let name: String
        public let path: String
        public let firstLSN: UInt64
        /// The last record's LSN; firstLSN - 1 for a file without records.
        public let lastLSN: UInt64
    }

    /// A clock record: every record up to `lsn` not timed before was committed at `time`
    /// (nanoseconds since the Unix epoch). DESIGN.md, "Clock record".
    public struct CommitTime: Sendable, Equatable {
        public let lsn: UInt64
        public let time: UInt64
        public init(lsn: UInt64, time: UInt64) {
            self.lsn = lsn
            self.time = time
        }
    }

    public let name: String
    public let metadataPath: String
    /// nil while the collection has never flushed.
    public let manifestPath: String?
    public let flushedLSN: UInt64
    public let segments: [SegmentFile]
    public let walFiles: [WALFile]
    public let commitTimes: [CommitTime]

    static func read(name: String, directory: String, fs: any FileSystem) throws -> CollectionFiles {
        guard fs.directoryExists(directory) else { throw HSDBError.collectionNotFound(name) }
        let manifestPath = directory + "/" + Manifest.fileName
        var manifest = Manifest()
        let hasManifest = fs.fileExists(manifestPath)
        if hasManifest { manifest = try Manifest.decode(try fs.readFile(manifestPath), path: manifestPath) }
        let segmentsDirectory = directory + "/" + Collection.segmentsDirectoryName
        let segments = manifest.segments.map {
            SegmentFile(contentID: $0.contentID, path: segmentsDirectory + "/" + SegmentFormat.fileName(contentID: $0.contentID))
        }
        let walDirectory = directory + "/" + Collection.walDirectoryName
        var times: [CommitTime] = []
        let report = try WALRecovery.recover(
            fileSystem: fs, directory: walDirectory, options: WALRecoveryOptions(readOnly: true),
            clock: { times.append(CommitTime(lsn: $0, time: $1)) }, visit: { _, _ in })
        let wal = report.files.map {
            WALFile(name: $0.name, path: walDirectory + "/" + $0.name, firstLSN: $0.firstLSN, lastLSN: $0.lastLSN)
        }
        return CollectionFiles(
            name: name, metadataPath: directory + "/" + CollectionMetadata.fileName,
            manifestPath: hasManifest ? manifestPath : nil, flushedLSN: manifest.flushedLSN,
            segments: segments, walFiles: wal, commitTimes: times)
    }
}
