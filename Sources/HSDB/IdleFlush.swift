extension Collection {
    /// Starts the task that flushes the memtable once writes stop: every `idleFlushAfter` it
    /// looks (`flushIfIdle`). A collection that keeps taking writes flushes only when its
    /// memtable is full.
    func watchForIdleMemtable() {
        guard let period = options.idleFlushAfter, period > .zero else { return }
        let task = Task.detached { [weak self] in
            var seen: UInt64?
            while true {
                do { try await Task.sleep(for: period) } catch { return }
                guard let self, !self.closed.load(ordering: .relaxed) else { return }
                seen = self.flushIfIdle(since: seen)
            }
        }
        idleWatcher.withLock { $0 = task }
    }

    /// Schedules a flush (which merges by policy after it, as any flush does) if the applied
    /// LSN is still `seen` (no write since the last look), the memtable holds at least
    /// `idleFlushPoints` points and no maintenance is running. Returns the LSN it saw.
    @discardableResult
    func flushIfIdle(since seen: UInt64?) -> UInt64 {
        let (lsn, points) = state.withLock { ($0.appliedLSN, $0.active.points.count) }
        let override = idleFlushPointsOverride.load(ordering: .relaxed)
        if lsn == seen && points >= max(1, override > 0 ? override : options.idleFlushPoints) && !maintenanceRunning {
            logger.debug("collection '\(name)': \(points) points idle in the memtable: flushing")
            scheduleFlush(.idle)
        }
        idleChecks.add(1, ordering: .releasing)
        return lsn
    }

    /// Sets the points an idle memtable needs to be flushed for this collection (nil: the
    /// database's `idleFlushPoints`). The HTTP API maps Qdrant's `indexing_threshold` here.
    public func setIdleFlushPoints(_ points: Int?) {
        idleFlushPointsOverride.store(points.map { max(1, $0) } ?? 0, ordering: .relaxed)
    }
}
