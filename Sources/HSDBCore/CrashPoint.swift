#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Named places in the engine where the crash tests make the process die, so kills land
/// exactly between two steps whose order matters (after a segment is renamed into place but
/// before the manifest lists it, say), not only where a random timer happens to fall.
///
/// `HSDB_CRASH_AT=<name>` or `<name>:<n>` arms one point: the n-th time (default 1) the
/// process reaches it, it writes `CRASH <name>` to standard output and sends itself SIGKILL.
/// Unarmed (always, outside the tests), reaching a point is one load and a branch.
public enum CrashPoint {
    public static let all = [
        "wal-after-write", "wal-after-sync", "wal-after-rotate",
        "segment-before-rename", "segment-after-rename",
        "manifest-after-publish", "compaction-before-retire",
    ]

    private final class Armed: Sendable {
        let name: String
        let remaining: Atomic<Int>
        init(name: String, count: Int) {
            self.name = name
            self.remaining = Atomic(count)
        }
    }

    private static let armed: Armed? = {
        guard let raw = getenv("HSDB_CRASH_AT").map({ String(cString: $0) }), !raw.isEmpty else { return nil }
        let parts = raw.split(separator: ":")
        let name = String(parts[0])
        precondition(all.contains(name), "HSDB_CRASH_AT names an unknown crash point '\(name)'; known: \(all.joined(separator: ", "))")
        return Armed(name: name, count: parts.count > 1 ? max(1, Int(parts[1]) ?? 1) : 1)
    }()

    /// Dies here if this point is armed and this is the n-th time it is reached.
    @inline(__always)
    public static func reach(_ name: String) {
        guard let armed else { return }
        guard armed.name == name, armed.remaining.subtract(1, ordering: .relaxed).newValue == 0 else { return }
        let line = Array("CRASH \(name)\n".utf8)
        _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        kill(getpid(), SIGKILL)
        while true { pause() }
    }
}
