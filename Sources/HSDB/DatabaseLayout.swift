import HSDBCore
import Segments
import WAL

/// Building a database directory out of files, for a restore that lays them out itself
/// (DESIGN.md, "Database directory" and "Backup and point-in-time restore"). The directory
/// built here opens with `Database.open` like any other.
public enum DatabaseLayout {
    public static let collectionsDirectoryName = Database.collectionsDirectoryName
    public static let metadataFileName = CollectionMetadata.fileName
    public static let manifestFileName = Manifest.fileName
    public static let segmentsDirectoryName = Collection.segmentsDirectoryName
    public static let walDirectoryName = Collection.walDirectoryName

    public static func segmentFileName(contentID: String) -> String { SegmentFormat.fileName(contentID: contentID) }
    public static func walFileName(firstLSN: UInt64) -> String { WALFormat.fileName(firstLSN: firstLSN) }
    /// The header of an empty WAL file whose first record will have `firstLSN`.
    public static func walFileHeader(firstLSN: UInt64) -> [UInt8] { WALFormat.encodeFileHeader(firstLSN: firstLSN) }
    /// A WAL record's bytes on disk besides its body.
    public static let walRecordHeaderSize = WALFormat.recordHeaderSize

    /// Creates `path` (which must not exist) with its marker and an empty `collections/`,
    /// every step synced, so what is built inside it next sits in a real database.
    public static func createDatabaseDirectory(at path: String, fileSystem fs: any FileSystem) throws {
        do {
            guard !fs.directoryExists(path) && !fs.fileExists(path) else {
                throw HSDBError.invalidArgument("\(path) already exists")
            }
            try fs.createDirectories(path)
            try fs.writeFileAtomically(path + "/" + DatabaseMarker.fileName, bytes: DatabaseMarker.encode())
            try fs.createDirectory(path + "/" + collectionsDirectoryName)
            try fs.syncDirectory(path)
            try fs.syncDirectory(parentDirectory(of: path))
        } catch {
            throw HSDBError.wrap(error)
        }
    }

    /// Removes every WAL record after `lsn` from a collection's `wal/` (WALCut). Returns the
    /// LSN the log now ends at.
    @discardableResult
    public static func cutWAL(directory: String, after lsn: UInt64, fileSystem fs: any FileSystem) throws -> UInt64 {
        do { return try WALCut.cut(fileSystem: fs, directory: directory, after: lsn) } catch { throw HSDBError.wrap(error) }
    }

    /// Every clock record in a WAL directory, in order, read without changing anything.
    public static func commitTimes(walDirectory: String, fileSystem fs: any FileSystem) throws -> [CollectionFiles.CommitTime] {
        var times: [CollectionFiles.CommitTime] = []
        do {
            _ = try WALRecovery.recover(
                fileSystem: fs, directory: walDirectory, options: WALRecoveryOptions(readOnly: true),
                clock: { times.append(.init(lsn: $0, time: $1)) }, visit: { _, _ in })
        } catch {
            throw HSDBError.wrap(error)
        }
        return times
    }
}
