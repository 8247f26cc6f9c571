/// Two copies' answers taken at one LSN: the leader's first, then the other's until they
/// agree (the leader's again when the other passed it), or nil at the deadline (the other is
/// behind, or the leader keeps writing). Used by `replica verify` and by anti-entropy.
enum OneLSN {
    static func align<L: Sendable, F: Sendable>(
        within timeout: Duration, poll: Duration,
        leader: () async throws -> L, leaderLSN: (L) -> UInt64,
        other: () async throws -> F, otherLSN: (F) -> UInt64
    ) async throws -> (L, F)? {
        let deadline = ContinuousClock.now + timeout
        var l = try await leader()
        while ContinuousClock.now < deadline {
            let f = try await other()
            if otherLSN(f) == leaderLSN(l) { return (l, f) }
            if otherLSN(f) > leaderLSN(l) {
                l = try await leader()  // the leader moved on
            } else {
                try await Task.sleep(for: poll)
            }
        }
        return nil
    }
}
