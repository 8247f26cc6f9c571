#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The real file system, through POSIX calls. Each method names the C call it makes.
public struct POSIXFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, mode: FileOpenMode) throws -> any File {
        let flags: Int32
        switch mode {
        case .readOnly: flags = O_RDONLY
        case .readWrite: flags = O_RDWR
        case .createNew: flags = O_RDWR | O_CREAT | O_EXCL
        case .createOrTruncate: flags = O_RDWR | O_CREAT | O_TRUNC
        }
        let fd = retryingEINTR { Glibc.open(path, flags | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw IOError("open", path: path, errno: errno) }
        return POSIXFile(fd: fd, path: path)
    }

    public func fileExists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    public func directoryExists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public func createDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 {
            let e = errno
            if e == EEXIST, directoryExists(path) { return }
            throw IOError("mkdir", path: path, errno: e)
        }
    }

    public func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw IOError("opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw IOError("rename", path: "\(from) -> \(to)", errno: errno) }
    }

    public func remove(_ path: String) throws {
        if directoryExists(path) {
            guard rmdir(path) == 0 else { throw IOError("rmdir", path: path, errno: errno) }
        } else {
            guard unlink(path) == 0 else { throw IOError("unlink", path: path, errno: errno) }
        }
    }

    public func syncDirectory(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw IOError("open", path: path, errno: errno) }
        defer { _ = Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw IOError("fsync", path: path, errno: errno) }
    }

    public func mapReadOnly(_ path: String) throws -> MappedRegion {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOError("open", path: path, errno: errno) }
        defer { _ = Glibc.close(fd) }  // the mapping outlives the descriptor
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw IOError("fstat", path: path, errno: errno) }
        let size = Int(st.st_size)
        guard size > 0 else { return MappedRegion(base: nil, count: 0) { _, _ in } }  // mmap(0) is EINVAL
        guard let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw IOError("mmap", path: path, errno: errno)
        }
        return MappedRegion(base: UnsafeRawPointer(p), count: size) { base, count in
            if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
        }
    }

    public func lockExclusive(_ path: String) throws -> any FileLock {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IOError("open", path: path, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let e = errno
            _ = Glibc.close(fd)
            throw IOError("flock", path: path, errno: e == EAGAIN ? EWOULDBLOCK : e)
        }
        // Record the holder for error messages; the lock itself is the flock, not the content.
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return POSIXFileLock(fd: fd)
    }
}

/// `retryingEINTR { call() }` repeats a system call interrupted by a signal.
@inline(__always)
func retryingEINTR<T: FixedWidthInteger>(_ call: () -> T) -> T {
    while true {
        let r = call()
        if r == -1 && errno == EINTR { continue }
        return r
    }
}

final class POSIXFile: File {
    let fd: Int32
    let path: String
    private let closed = Atomic<Bool>(false)

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { if !closed.load(ordering: .acquiring) { _ = Glibc.close(fd) } }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = retryingEINTR { pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done)) }
            if n < 0 { throw IOError("pread", path: path, errno: errno) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let n = retryingEINTR { pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done)) }
            if n < 0 { throw IOError("pwrite", path: path, errno: errno) }
            if n == 0 { throw IOError("pwrite", path: path, errno: EIO) }
            done += n
        }
    }

    func size() throws -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw IOError("fstat", path: path, errno: errno) }
        return Int64(st.st_size)
    }

    func sync() throws {
        guard retryingEINTR({ fdatasync(fd) }) == 0 else { throw IOError("fdatasync", path: path, errno: errno) }
    }

    func truncate(to size: Int64) throws {
        guard retryingEINTR({ ftruncate(fd, off_t(size)) }) == 0 else { throw IOError("ftruncate", path: path, errno: errno) }
    }

    func close() throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        guard Glibc.close(fd) == 0 else { throw IOError("close", path: path, errno: errno) }
    }
}

final class POSIXFileLock: FileLock {
    private let fd: Int32
    private let released = Atomic<Bool>(false)

    init(fd: Int32) { self.fd = fd }

    func unlock() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = flock(fd, LOCK_UN)
        _ = Glibc.close(fd)
    }

    deinit { unlock() }
}
