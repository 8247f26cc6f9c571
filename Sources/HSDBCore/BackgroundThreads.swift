import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Threads for background work (graph builds of flushes and merges) at a lower CPU priority,
/// as RocksDB lowers its compaction pool's: when searches and writes want the cores they get
/// them, and the build takes what is left (all of it on an idle machine). Linux applies a
/// nice value per thread; a thread may raise its own without privilege.
public enum BackgroundThreads {
    /// The nice value background threads take (0: the caller's priority).
    public static let defaultNice: Int32 = 10

    /// Runs `body(i)` for i in 0..<count, each on a thread of its own at `nice`, and returns
    /// when all have. The calling thread waits (it does none of the work, so it keeps its
    /// priority).
    public static func run(count: Int, nice: Int32, label: String, _ body: @escaping @Sendable (Int) -> Void) {
        let done = DispatchGroup()
        for i in 0..<max(1, count) {
            done.enter()
            let thread = Thread {
                lowerPriority(to: nice)
                body(i)
                done.leave()
            }
            thread.name = label
            thread.start()
        }
        done.wait()
    }

    /// Sets the calling thread's nice value (ignored where the system refuses). On Linux the
    /// nice value is per thread and `who` 0 is the calling thread, not the whole process.
    public static func lowerPriority(to nice: Int32) {
        #if os(Linux)
        guard nice > 0 else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice)
        #endif
    }

    /// The calling thread's nice value.
    public static var currentNice: Int32 {
        #if os(Linux)
        errno = 0
        return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        #else
        return 0
        #endif
    }
}
