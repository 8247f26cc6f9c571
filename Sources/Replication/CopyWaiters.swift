import Synchronization

/// Writes waiting until enough followers made them durable (`write_consistency_factor`).
/// Each waiter is resumed exactly once: by the acknowledgement that meets it, or by its
/// timeout or cancellation, whichever comes first (even before it is registered).
final class CopyWaiters: Sendable {
    private struct Waiter {
        let collection: String
        let lsn: UInt64
        let followers: Int
        var continuation: CheckedContinuation<Bool, Never>?
        /// An outcome decided before the continuation was registered.
        var early: Bool?
    }

    private let waiting = Mutex<(next: UInt64, all: [UInt64: Waiter])>((0, [:]))

    /// Waits until `met(collection, lsn, followers)` holds, checked now and after every
    /// `changed(collection)`; false after `timeout` or on cancellation.
    func wait(
        collection: String, lsn: UInt64, followers: Int, timeout: Duration,
        met: @escaping @Sendable (String, UInt64, Int) -> Bool
    ) async -> Bool {
        let id = waiting.withLock { w -> UInt64 in
            w.next += 1
            w.all[w.next] = Waiter(collection: collection, lsn: lsn, followers: followers)
            return w.next
        }
        // Checked after registering, so an acknowledgement in between is not missed.
        if met(collection, lsn, followers) { finish(id, with: true) }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.finish(id, with: false)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let early = waiting.withLock { w -> Bool? in
                    guard var waiter = w.all[id] else { return false }
                    if let early = waiter.early {
                        w.all[id] = nil
                        return early
                    }
                    waiter.continuation = continuation
                    w.all[id] = waiter
                    return nil
                }
                if let early { continuation.resume(returning: early) }
            }
        } onCancel: {
            finish(id, with: false)
        }
    }

    /// Resumes the waiters of `collection` that `met` now satisfies.
    func changed(_ collection: String, met: (String, UInt64, Int) -> Bool) {
        let ids = waiting.withLock { w in
            w.all.filter { $0.value.collection == collection && $0.value.early == nil && met(collection, $0.value.lsn, $0.value.followers) }
                .map(\.key)
        }
        for id in ids { finish(id, with: true) }
    }

    /// Decides waiter `id`: resumes it if registered, else leaves the outcome for it.
    private func finish(_ id: UInt64, with value: Bool) {
        let continuation = waiting.withLock { w -> CheckedContinuation<Bool, Never>? in
            guard var waiter = w.all[id], waiter.early == nil else { return nil }
            guard let c = waiter.continuation else {
                waiter.early = value
                w.all[id] = waiter
                return nil
            }
            w.all[id] = nil
            return c
        }
        continuation?.resume(returning: value)
    }
}
