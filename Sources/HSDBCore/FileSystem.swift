/// The one door between hsdb and the operating system's files. Every open, write, sync,
/// rename and mmap the engine makes goes through a `FileSystem`, so tests can put a
/// fault-injecting one in its place (see HSDBTestSupport.FaultInjectingFileSystem).
///
/// Durability contract, as POSIX gives it and as the fault-injecting implementation models it:
/// - bytes written to a file survive a power loss only once `File.sync()` has returned;
/// - a created, renamed or removed directory entry survives only once `syncDirectory` on its
///   parent has returned.
public protocol FileSystem: Sendable {
    /// Opens a file. `.createNew` fails with EEXIST if the file is there.
    func open(_ path: String, mode: FileOpenMode) throws -> any File
    func fileExists(_ path: String) -> Bool
    func directoryExists(_ path: String) -> Bool
    /// Creates one directory level; succeeds if it is already there.
    func createDirectory(_ path: String) throws
    /// The names in a directory (no "." or ".."), sorted.
    func listDirectory(_ path: String) throws -> [String]
    /// rename(2): atomically replaces `to` if it exists.
    func rename(_ from: String, to: String) throws
    /// Removes a file or an empty directory.
    func remove(_ path: String) throws
    /// fsync(2) on the directory itself, making its entries durable.
    func syncDirectory(_ path: String) throws
    /// Maps a whole file read-only. REQUIRES: the file is never written again while mapped.
    func mapReadOnly(_ path: String) throws -> MappedRegion
    /// Takes an exclusive, non-blocking advisory lock; throws EWOULDBLOCK if another holder has it.
    /// The lock is released by `FileLock.unlock()` or when the process dies.
    func lockExclusive(_ path: String) throws -> any FileLock
}

public enum FileOpenMode: Sendable {
    case readOnly
    case readWrite
    /// Create a new file, failing if one exists (O_CREAT | O_EXCL).
    case createNew
    /// Create or truncate to zero length.
    case createOrTruncate
}

/// An open file. Offsets are absolute (pread/pwrite), so a `File` has no cursor and is safe to
/// share between threads.
public protocol File: AnyObject, Sendable {
    var path: String { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns fewer only at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
    /// Writes all of `bytes` at `offset` (retrying short writes), or throws.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws
    func size() throws -> Int64
    /// fdatasync(2). After a failure the file's state on disk is unknown: never retry and trust.
    func sync() throws
    func truncate(to size: Int64) throws
    func close() throws
}

public protocol FileLock: AnyObject, Sendable {
    func unlock()
}

extension FileSystem {
    /// The whole contents of a file.
    public func readFile(_ path: String) throws -> [UInt8] {
        let file = try open(path, mode: .readOnly)
        defer { try? file.close() }
        let size = Int(try file.size())
        var bytes = [UInt8](repeating: 0, count: size)
        let n = try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        if n < size { bytes.removeLast(size - n) }
        return bytes
    }

    /// Publishes a small file atomically and durably: write a temporary file, sync it, rename
    /// it over `path`, sync the directory. Readers see the old bytes or the new, never a mix.
    public func writeFileAtomically(_ path: String, bytes: [UInt8]) throws {
        let directory = parentDirectory(of: path)
        let temporary = path + ".tmp"
        let file = try open(temporary, mode: .createOrTruncate)
        do {
            try bytes.withUnsafeBytes { try file.write($0, at: 0) }
            try file.sync()
            try file.close()
        } catch {
            try? file.close()
            try? remove(temporary)
            throw error
        }
        try rename(temporary, to: path)
        try syncDirectory(directory)
    }

    /// Removes a directory and everything below it. Not atomic: callers rename the directory
    /// to a name that is cleaned up at open first.
    public func removeTree(_ path: String) throws {
        if directoryExists(path) {
            for name in try listDirectory(path) { try removeTree(path + "/" + name) }
        }
        try remove(path)
    }

    /// Creates every missing directory on the way to `path`, syncing each parent.
    public func createDirectories(_ path: String) throws {
        if directoryExists(path) { return }
        let parent = parentDirectory(of: path)
        if parent != path, !parent.isEmpty { try createDirectories(parent) }
        try createDirectory(path)
        try syncDirectory(parent.isEmpty ? "/" : parent)
    }
}

/// "/a/b/c" -> "/a/b"; "c" -> "."; "/c" -> "/".
public func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}

/// "/a/b/c" -> "c".
public func lastPathComponent(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}
