import Foundation

/// Runs blocking work (file I/O, fsync, recovery) on a thread of its own and awaits the
/// result, so the cooperative thread pool (two threads on a two-core machine) never blocks.
/// `nice` above 0 lowers the thread's CPU priority (background work: `BackgroundThreads`).
public func runBlocking<T: Sendable>(
    _ label: String = "hsdb.blocking", nice: Int32 = 0, _ work: @escaping @Sendable () throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread {
            BackgroundThreads.lowerPriority(to: nice)
            continuation.resume(with: Result { try work() })
        }
        thread.name = label
        thread.start()
    }
}

extension Duration {
    /// Whole nanoseconds (for metrics).
    public var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
