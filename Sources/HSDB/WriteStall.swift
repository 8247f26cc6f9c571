extension Collection {
    /// Holds a writer while the data not yet in segments (active and frozen memtables) is at
    /// or over `DatabaseOptions.memtableStallBytes`: when writes come faster than flushes can
    /// index them, writers wait for a flush instead of memory growing without bound (as
    /// RocksDB's write stalls do). The check and the wait are under the state lock that
    /// flushes release writers under, so no wake-up is lost.
    func waitWhileStalled() async {
        while !closed.load(ordering: .relaxed) {
            let stalled = state.withLock { $0.unflushedBytes >= options.memtableStallBytes }
            guard stalled else { return }
            scheduleFlush(.stall)
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let waiting = state.withLock { s -> Bool in
                    guard s.unflushedBytes >= options.memtableStallBytes, !closed.load(ordering: .relaxed) else { return false }
                    s.stalledWriters.append(c)
                    return true
                }
                if !waiting { c.resume() }
            }
        }
    }

    /// Lets every stalled writer re-check (after a flush installed its segment, or at close).
    func releaseStalledWriters() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            defer { s.stalledWriters.removeAll() }
            return s.stalledWriters
        }
        for w in waiters { w.resume() }
        stallCount.add(waiters.count, ordering: .relaxed)
    }
}
