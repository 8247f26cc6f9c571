import Synchronization

/// Wakes tasks waiting for the log to pass an LSN (a leader's WAL streams wait here for new
/// writes), with a timeout so a stream can send its heartbeat. Commit handlers call
/// `advance`; it never blocks.
final class CommitSignal: Sendable {
    private struct State {
        var lsn: UInt64
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waiters whose timeout fired before they started waiting.
        var expired: Set<UInt64> = []
        /// Waiters between their start and their end.
        var pending: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    init(lsn: UInt64) { state = Mutex(State(lsn: lsn)) }

    func advance(to lsn: UInt64) {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard lsn > s.lsn else { return [] }
            s.lsn = lsn
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for c in ready { c.resume() }
    }

    /// Returns once the log passed `lsn` or `timeout` went by, whichever is first.
    func wait(beyond lsn: UInt64, timeout: Duration) async {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            s.pending.insert(s.nextID)
            return s.nextID
        }
        let timer = Task { [self] in
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            expire(id)
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.lsn > lsn || s.expired.remove(id) != nil { return true }
                s.waiters[id] = c
                return false
            }
            if ready { c.resume() }
        }
        timer.cancel()
        state.withLock { s in
            s.pending.remove(id)
            s.expired.remove(id)
        }
    }

    private func expire(_ id: UInt64) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let c = s.waiters.removeValue(forKey: id) { return c }
            if s.pending.contains(id) { s.expired.insert(id) }
            return nil
        }
        waiter?.resume()
    }
}
