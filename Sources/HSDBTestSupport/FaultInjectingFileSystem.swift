#if canImport(Glibc)
import Glibc
#endif
import HSDBCore
import Synchronization

/// An in-memory file system that models what survives a power loss, and injects faults.
///
/// Fault model (as POSIX promises, and as LazyFS and Pebble's strict MemFS model it):
/// - each file has its current bytes and its durable bytes (as of its last completed `sync`);
/// - each directory has its current entries and its durable entries (as of its last
///   `syncDirectory`); creating, renaming or removing an entry changes only the current ones;
/// - `simulatePowerLoss()` replaces every current state by the durable one: unsynced bytes and
///   unsynced directory entries are forgotten, and every open handle dies (EIO).
///
/// Faults: fail the Nth operation of a kind (or every one, until cleared) with an errno, and
/// optionally write a prefix first (a torn write); flip bits in a file.
public final class FaultInjectingFileSystem: FileSystem {
    public enum Operation: String, Sendable, CaseIterable {
        case open, read, write, sync, truncate, syncDirectory, rename, remove, createDirectory, map
    }

    public struct Fault: Sendable {
        /// nil: calls of any kind (for "fail the Nth I/O call" loops).
        public var operation: Operation?
        /// Fail the nth matching call counted from when the fault was added (1 = the next).
        /// nil = every matching call until removed.
        public var nth: Int?
        public var errno: Int32
        /// For writes: bytes written before failing (a torn write).
        public var tornPrefixBytes: Int
        /// Only calls whose path contains this.
        public var pathContains: String?
        /// Instead of an errno: the power fails just before the call (everything unsynced is
        /// lost, and every call fails until `restart()`).
        public var powerLoss = false
        /// Instead of an errno: the process dies (SIGKILL) just before the call: every byte
        /// written stays (the page cache survives), handles and locks go, and every call fails
        /// until `restart()`.
        public var processCrash = false

        /// The power fails just before the nth call of any kind.
        public static func powerLoss(atCall nth: Int) -> Fault {
            var f = Fault(nil, nth: nth)
            f.powerLoss = true
            return f
        }

        /// The process is killed just before the nth call of any kind.
        public static func processCrash(atCall nth: Int) -> Fault {
            var f = Fault(nil, nth: nth)
            f.processCrash = true
            return f
        }

        public init(_ operation: Operation?, nth: Int? = 1, errno: Int32 = EIO, tornPrefixBytes: Int = 0, pathContains: String? = nil) {
            self.operation = operation
            self.nth = nth
            self.errno = errno
            self.tornPrefixBytes = tornPrefixBytes
            self.pathContains = pathContains
        }
    }

    struct Inode {
        var data: [UInt8] = []
        var durable: [UInt8] = []
    }

    enum Entry: Equatable {
        case file(Int)
        case directory
    }

    struct Directory {
        var entries: [String: Entry] = [:]
        var durable: [String: Entry] = [:]
    }

    struct State {
        var inodes: [Int: Inode] = [:]
        var directories: [String: Directory] = ["/": Directory()]
        var nextInode = 1
        var generation = 0
        var faults: [(fault: Fault, seen: Int)] = []
        var counts: [Operation: Int] = [:]
        var locks: Set<String> = []
        var down = false
    }

    let state = Mutex(State())

    public init() {}

    // MARK: Fault control

    public func inject(_ fault: Fault) { state.withLock { $0.faults.append((fault, 0)) } }
    public func clearFaults() { state.withLock { $0.faults.removeAll() } }

    /// How many calls of each kind were made (for "fail the Nth call" loops).
    public func count(_ operation: Operation) -> Int { state.withLock { $0.counts[operation, default: 0] } }
    public var totalOperations: Int { state.withLock { $0.counts.values.reduce(0, +) } }

    /// Forgets everything no completed sync covered and kills every open handle. With
    /// `stayDown`, every call fails (EIO) until `restart()`, so threads of the "dead" process
    /// cannot write to the disk after the crash.
    public func simulatePowerLoss(stayDown: Bool = false) {
        state.withLock { Self.losePower(&$0, stayDown: stayDown) }
    }

    static func losePower(_ s: inout State, stayDown: Bool) {
        s.down = stayDown
        s.generation += 1
        s.locks.removeAll()
        for key in s.inodes.keys { s.inodes[key]!.data = s.inodes[key]!.durable }
        for key in s.directories.keys { s.directories[key]!.entries = s.directories[key]!.durable }
        // Directories no longer reachable from the root are gone.
        let reachable = Set(s.directories.keys.filter { Self.isReachable($0, s.directories) })
        s.directories = s.directories.filter { reachable.contains($0.key) }
    }

    /// Brings the machine back after `simulatePowerLoss(stayDown: true)`.
    public func restart() { state.withLock { $0.down = false } }

    /// Kills every open handle and releases locks, keeping all bytes (a process crash: the OS
    /// page cache survives).
    public func simulateProcessCrash() {
        state.withLock { s in
            s.generation += 1
            s.locks.removeAll()
        }
    }

    /// Flips one bit of a file, in both its current and durable bytes (bit rot).
    public func flipBit(_ path: String, byteOffset: Int, bit: Int = 0) throws {
        try state.withLock { s in
            let ino = try Self.inode(path, s)
            s.inodes[ino]!.data[byteOffset] ^= UInt8(1 << bit)
            if byteOffset < s.inodes[ino]!.durable.count { s.inodes[ino]!.durable[byteOffset] ^= UInt8(1 << bit) }
        }
    }

    /// Replaces a file's bytes, current and durable (to build a crash image by hand).
    public func setContents(_ path: String, _ bytes: [UInt8]) throws {
        try state.withLock { s in
            let ino = try Self.inode(path, s)
            s.inodes[ino]!.data = bytes
            s.inodes[ino]!.durable = bytes
        }
    }

    public func contents(_ path: String) throws -> [UInt8] {
        try state.withLock { s in s.inodes[try Self.inode(path, s)]!.data }
    }

    // MARK: Helpers

    static func split(_ path: String) -> (String, String) {
        (parentDirectory(of: path), lastPathComponent(path))
    }

    static func isReachable(_ dir: String, _ dirs: [String: Directory]) -> Bool {
        if dir == "/" { return true }
        let (parent, name) = split(dir)
        guard let p = dirs[parent], p.entries[name] == .directory else { return false }
        return isReachable(parent, dirs)
    }

    static func inode(_ path: String, _ s: State) throws -> Int {
        let (parent, name) = split(path)
        guard case .file(let ino)? = s.directories[parent]?.entries[name] else { throw IOError("open", path: path, errno: ENOENT) }
        return ino
    }

    /// Counts the call and throws if a fault matches. Returns a torn-prefix length for writes.
    func check(_ op: Operation, _ path: String, _ s: inout State) throws -> Int? {
        s.counts[op, default: 0] += 1
        if s.down { throw IOError(op.rawValue, path: path, errno: EIO) }
        for i in s.faults.indices where s.faults[i].fault.operation == nil || s.faults[i].fault.operation == op {
            let f = s.faults[i].fault
            if let needle = f.pathContains, !path.contains(needle) { continue }
            s.faults[i].seen += 1
            if f.nth == nil || f.nth == s.faults[i].seen {
                if f.powerLoss {
                    Self.losePower(&s, stayDown: true)
                    throw IOError(op.rawValue, path: path, errno: EIO)
                }
                if f.processCrash {
                    s.down = true
                    s.generation += 1
                    s.locks.removeAll()
                    throw IOError(op.rawValue, path: path, errno: EIO)
                }
                if op == .write && f.tornPrefixBytes > 0 { return f.tornPrefixBytes }
                throw IOError(op.rawValue, path: path, errno: f.errno)
            }
        }
        return nil
    }

    func fault(_ op: Operation, _ path: String) throws {
        try state.withLock { s in _ = try check(op, path, &s) }
    }
}
