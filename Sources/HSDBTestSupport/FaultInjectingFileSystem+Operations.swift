#if canImport(Glibc)
import Glibc
#endif
import HSDBCore
import Synchronization

extension FaultInjectingFileSystem {
    public func open(_ path: String, mode: FileOpenMode) throws -> any File {
        try state.withLock { s in
            _ = try check(.open, path, &s)
            let (parent, name) = Self.split(path)
            guard s.directories[parent] != nil else { throw IOError("open", path: path, errno: ENOENT) }
            let existing = s.directories[parent]!.entries[name]
            if existing == .directory { throw IOError("open", path: path, errno: EISDIR) }
            var ino: Int
            switch (mode, existing) {
            case (.readOnly, .file(let i)), (.readWrite, .file(let i)): ino = i
            case (.readOnly, _), (.readWrite, _): throw IOError("open", path: path, errno: ENOENT)
            case (.createNew, .file): throw IOError("open", path: path, errno: EEXIST)
            case (.createOrTruncate, .file(let i)):
                ino = i
                s.inodes[i]!.data = []
            case (.createNew, _), (.createOrTruncate, _):
                ino = s.nextInode
                s.nextInode += 1
                s.inodes[ino] = Inode()
                s.directories[parent]!.entries[name] = .file(ino)
            }
            return MemoryFile(fs: self, path: path, inode: ino, generation: s.generation)
        }
    }

    public func fileExists(_ path: String) -> Bool {
        state.withLock { s in
            let (parent, name) = Self.split(path)
            if case .file? = s.directories[parent]?.entries[name] { return true }
            return false
        }
    }

    public func directoryExists(_ path: String) -> Bool {
        state.withLock { $0.directories[path] != nil }
    }

    public func createDirectory(_ path: String) throws {
        try state.withLock { s in
            _ = try check(.createDirectory, path, &s)
            if s.directories[path] != nil { return }
            let (parent, name) = Self.split(path)
            guard s.directories[parent] != nil else { throw IOError("mkdir", path: path, errno: ENOENT) }
            guard s.directories[parent]!.entries[name] == nil else { throw IOError("mkdir", path: path, errno: EEXIST) }
            s.directories[parent]!.entries[name] = .directory
            s.directories[path] = Directory()
        }
    }

    public func listDirectory(_ path: String) throws -> [String] {
        try state.withLock { s in
            guard let d = s.directories[path] else { throw IOError("opendir", path: path, errno: ENOENT) }
            return d.entries.keys.sorted()
        }
    }

    public func rename(_ from: String, to: String) throws {
        try state.withLock { s in
            _ = try check(.rename, from, &s)
            let (fp, fn) = Self.split(from), (tp, tn) = Self.split(to)
            guard let entry = s.directories[fp]?.entries[fn] else { throw IOError("rename", path: from, errno: ENOENT) }
            guard s.directories[tp] != nil else { throw IOError("rename", path: to, errno: ENOENT) }
            if entry == .directory {
                if s.directories[to] != nil, !(s.directories[to]!.entries.isEmpty) { throw IOError("rename", path: to, errno: ENOTEMPTY) }
                // Move the subtree's directory records to their new paths.
                let moved = s.directories.filter { $0.key == from || $0.key.hasPrefix(from + "/") }
                for (key, dir) in moved {
                    s.directories.removeValue(forKey: key)
                    s.directories[to + key.dropFirst(from.count)] = dir
                }
            }
            s.directories[fp]!.entries.removeValue(forKey: fn)
            s.directories[tp]!.entries[tn] = entry
        }
    }

    public func remove(_ path: String) throws {
        try state.withLock { s in
            _ = try check(.remove, path, &s)
            let (parent, name) = Self.split(path)
            guard let entry = s.directories[parent]?.entries[name] else { throw IOError("unlink", path: path, errno: ENOENT) }
            if entry == .directory {
                guard s.directories[path]?.entries.isEmpty ?? true else { throw IOError("rmdir", path: path, errno: ENOTEMPTY) }
                s.directories.removeValue(forKey: path)
            }
            s.directories[parent]!.entries.removeValue(forKey: name)
        }
    }

    public func syncDirectory(_ path: String) throws {
        try state.withLock { s in
            _ = try check(.syncDirectory, path, &s)
            guard s.directories[path] != nil else { throw IOError("fsync", path: path, errno: ENOENT) }
            s.directories[path]!.durable = s.directories[path]!.entries
        }
    }

    public func mapReadOnly(_ path: String) throws -> MappedRegion {
        try state.withLock { s in
            _ = try check(.map, path, &s)
            return MappedRegion(copying: s.inodes[try Self.inode(path, s)]!.data)
        }
    }

    public func lockExclusive(_ path: String) throws -> any FileLock {
        try state.withLock { s in
            guard !s.locks.contains(path) else { throw IOError("flock", path: path, errno: EWOULDBLOCK) }
            s.locks.insert(path)
            let (parent, name) = Self.split(path)
            if s.directories[parent]?.entries[name] == nil, s.directories[parent] != nil {
                let ino = s.nextInode
                s.nextInode += 1
                s.inodes[ino] = Inode()
                s.directories[parent]!.entries[name] = .file(ino)
            }
            return MemoryLock(fs: self, path: path, generation: s.generation)
        }
    }
}

/// A handle on a file of the fault-injecting file system. Dies (EIO) at a simulated crash.
final class MemoryFile: File {
    let fs: FaultInjectingFileSystem
    let path: String
    let inode: Int
    let generation: Int

    init(fs: FaultInjectingFileSystem, path: String, inode: Int, generation: Int) {
        self.fs = fs
        self.path = path
        self.inode = inode
        self.generation = generation
    }

    private func withInode<T>(_ op: FaultInjectingFileSystem.Operation, _ body: (inout FaultInjectingFileSystem.Inode, Int?) throws -> T) throws -> T {
        try fs.state.withLock { s in
            guard s.generation == generation else { throw IOError(op.rawValue, path: path, errno: EIO) }
            let torn = try fs.check(op, path, &s)
            return try body(&s.inodes[inode]!, torn)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try withInode(.read) { node, _ in
            let start = Int(offset)
            guard start < node.data.count else { return 0 }
            let n = min(buffer.count, node.data.count - start)
            node.data.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + start, byteCount: n) }
            return n
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try withInode(.write) { node, torn in
            let n = torn.map { min($0, bytes.count) } ?? bytes.count
            let end = Int(offset) + n
            if node.data.count < end { node.data.append(contentsOf: repeatElement(0, count: end - node.data.count)) }
            for i in 0..<n { node.data[Int(offset) + i] = bytes[i] }
            if torn != nil { throw IOError("write", path: path, errno: EIO) }
        }
    }

    func size() throws -> Int64 { try withInode(.read) { node, _ in Int64(node.data.count) } }

    func sync() throws { try withInode(.sync) { node, _ in node.durable = node.data } }

    func truncate(to size: Int64) throws {
        try withInode(.truncate) { node, _ in
            let n = Int(size)
            if node.data.count > n { node.data.removeLast(node.data.count - n) } else {
                node.data.append(contentsOf: repeatElement(0, count: n - node.data.count))
            }
        }
    }

    func close() throws {}
}

final class MemoryLock: FileLock {
    let fs: FaultInjectingFileSystem
    let path: String
    let generation: Int

    init(fs: FaultInjectingFileSystem, path: String, generation: Int) {
        self.fs = fs
        self.path = path
        self.generation = generation
    }

    func unlock() {
        fs.state.withLock { s in
            if s.generation == generation { s.locks.remove(path) }
        }
    }
}
