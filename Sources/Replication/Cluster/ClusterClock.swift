/// The one door for time in cluster mode: the election loop, lease deadlines, keepalives and
/// retries read and wait on it, so tests can drive them with a manual clock instead of
/// sleeping. Times are monotonic durations since an arbitrary origin.
public protocol ClusterClock: Sendable {
    var now: Duration { get }
    func sleep(for duration: Duration) async throws
}

/// The process's monotonic clock (it runs while the process is stopped by SIGSTOP, which
/// is what a lease deadline must see).
public struct SystemClusterClock: ClusterClock {
    private let origin = ContinuousClock.now

    public init() {}

    public var now: Duration { ContinuousClock.now - origin }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}
