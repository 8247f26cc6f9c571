import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import HSDBCore

/// The syncer thread's own state: the file being appended to. Touched by the syncer thread only.
struct FileCursor {
    var file: (any File)?
    var offset: Int64 = 0
    /// Bytes written since the last fdatasync (interval and none modes).
    var unsynced = false
    var unsyncedSince: DispatchTime?
    /// The time of the last clock record written or recovered: clock records never go back,
    /// even when the system clock does.
    var lastCommitTime: UInt64 = 0
}

extension WALWriter {
    /// The syncer thread's loop: take a batch, write, sync, commit; sleep when idle.
    func runSyncer(_ start: FileCursor) {
        var cursor = start
        var buffer: [UInt8] = []
        while true {
            let (batch, closing, syncRequested) = state.withLock { s -> ([Entry], Bool, Bool) in
                let syncRequested = !s.syncWaiters.isEmpty
                if s.queue.isEmpty {
                    if !s.closing && !syncRequested { s.syncerIdle = true }
                    return ([], s.closing, syncRequested)
                }
                return (takeBatch(&s), false, syncRequested)
            }
            if !batch.isEmpty {
                writeBatch(batch, &cursor, &buffer)
                continue
            }
            if syncRequested || closing { syncIfNeeded(&cursor) }
            if closing {
                finishClose(&cursor)
                return
            }
            if syncRequested { continue }
            sleep(&cursor)
        }
    }

    private func takeBatch(_ s: inout State) -> [Entry] {
        var bytes = 0
        var n = 0
        while n < s.queue.count {
            let size = s.queue[n].record.writer.count
            if n > 0 && bytes + size > options.maxBatchBytes { break }
            bytes += size
            n += 1
        }
        let batch = Array(s.queue[0..<n])
        s.queue.removeFirst(n)
        return batch
    }

    /// Idle: wait for a writer, or, in interval mode with unsynced bytes, for the interval.
    private func sleep(_ cursor: inout FileCursor) {
        if case .interval(let ms) = options.durability, cursor.unsynced, let since = cursor.unsyncedSince {
            let deadline = since + .milliseconds(ms)
            if DispatchTime.now() >= deadline || wake.wait(timeout: deadline) == .timedOut {
                syncIfNeeded(&cursor)
            }
        } else {
            wake.wait()
        }
        state.withLock { $0.syncerIdle = false }
    }

    /// Writes `batch` (records in LSN order) to the current file, rotating as needed, then
    /// makes each per-file chunk durable (fsync mode) and commits it.
    private func writeBatch(_ batch: [Entry], _ cursor: inout FileCursor, _ buffer: inout [UInt8]) {
        var i = 0
        while i < batch.count {
            let needsRotation = cursor.file == nil
                || (cursor.offset > Int64(WALFormat.fileHeaderSize)
                    && cursor.offset + Int64(batch[i].record.writer.count) > Int64(options.maxFileSize))
            if needsRotation {
                do { try rotate(&cursor, firstLSN: batch[i].lsn) } catch {
                    failWrite(Array(batch[i...]), error: error, cursor: &cursor, chunkStart: nil)
                    return
                }
            }
            var j = i
            var chunkBytes: Int64 = 0
            while j < batch.count {
                let size = Int64(batch[j].record.writer.count)
                if j > i && cursor.offset + chunkBytes + size > Int64(options.maxFileSize) { break }
                chunkBytes += size
                j += 1
            }
            let chunk = batch[i..<j]
            let chunkStart = cursor.offset
            // The chunk's commit time goes into the same write, after its last record (it may
            // take the file 36 bytes past its size limit).
            cursor.lastCommitTime = max(cursor.lastCommitTime, options.clock())
            let clock = WALClock.encode(
                time: cursor.lastCommitTime, lsn: chunk.last!.lsn, durableLSN: state.withLock { $0.durableLSN })
            chunkBytes += Int64(clock.count)
            do {
                try writeChunk(chunk, clock: clock, at: chunkStart, to: cursor.file!, &buffer)
            } catch {
                failWrite(Array(batch[i...]), error: error, cursor: &cursor, chunkStart: chunkStart)
                return
            }
            cursor.offset += chunkBytes
            CrashPoint.reach("wal-after-write")
            statistics.writes.add(1, ordering: .relaxed)
            statistics.bytesWritten.add(Int(chunkBytes), ordering: .relaxed)
            statistics.recordsWritten.add(chunk.count, ordering: .relaxed)
            if options.durability == .fsync {
                do { try timedSync(cursor.file!) } catch {
                    failSync(Array(batch[i...]), error: error, cursor: &cursor, chunkStart: chunkStart)
                    return
                }
                CrashPoint.reach("wal-after-sync")
                commit(chunk, durable: true, time: cursor.lastCommitTime)
            } else {
                if !cursor.unsynced { cursor.unsyncedSince = .now() }
                cursor.unsynced = true
                commit(chunk, durable: false, time: cursor.lastCommitTime)
            }
            i = j
        }
    }

    private func writeChunk(
        _ chunk: ArraySlice<Entry>, clock: [UInt8], at offset: Int64, to file: any File, _ buffer: inout [UInt8]
    ) throws {
        if chunk.count == 1 {  // a lone (often large) record is written as it is, not copied
            let record = chunk.first!.record.writer.bytes
            try record.withUnsafeBytes { try file.write($0, at: offset) }
            try clock.withUnsafeBytes { try file.write($0, at: offset + Int64(record.count)) }
            return
        }
        buffer.removeAll(keepingCapacity: true)
        for entry in chunk { buffer.append(contentsOf: entry.record.writer.bytes) }
        buffer.append(contentsOf: clock)
        try buffer.withUnsafeBytes { try file.write($0, at: offset) }
    }

    private func timedSync(_ file: any File) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        try file.sync()
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        statistics.syncs.add(1, ordering: .relaxed)
        statistics.syncNanoseconds.add(Int(elapsed), ordering: .relaxed)
        WALMetrics.fsyncDuration.recordNanoseconds(Int64(elapsed))
    }

    /// Runs commit handlers in LSN order, then resumes the writers.
    private func commit(_ chunk: ArraySlice<Entry>, durable: Bool, time: UInt64) {
        guard let lastLSN = chunk.last?.lsn else { return }
        if durable { WALMetrics.groupCommitRecords.record(chunk.count) }
        let waiters = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.committedLSN = lastLSN
            s.lastCommitTime = time
            guard durable else { return [] }
            s.durableLSN = lastLSN
            return takeSatisfiedSyncWaiters(&s)
        }
        for entry in chunk { entry.onCommit?(entry.lsn) }
        for entry in chunk { entry.continuation?.resume(returning: entry.lsn) }
        for w in waiters { w.resume() }
    }

    private func takeSatisfiedSyncWaiters(_ s: inout State) -> [CheckedContinuation<Void, any Error>] {
        let durable = s.durableLSN
        let ready = s.syncWaiters.filter { $0.0 <= durable }.map(\.1)
        s.syncWaiters.removeAll { $0.0 <= durable }
        return ready
    }

    /// Makes written bytes durable (interval and none modes, rotation, close).
    func syncIfNeeded(_ cursor: inout FileCursor) {
        guard let file = cursor.file, cursor.unsynced else {
            let waiters = state.withLock { s in
                s.durableLSN = s.committedLSN
                return takeSatisfiedSyncWaiters(&s)
            }
            for w in waiters { w.resume() }
            return
        }
        do {
            try timedSync(file)
        } catch {
            failSync([], error: error, cursor: &cursor, chunkStart: nil)
            return
        }
        cursor.unsynced = false
        cursor.unsyncedSince = nil
        let waiters = state.withLock { s in
            s.durableLSN = s.committedLSN
            return takeSatisfiedSyncWaiters(&s)
        }
        for w in waiters { w.resume() }
    }

    /// Closes the current file (synced) and starts the next, named by its first LSN.
    private func rotate(_ cursor: inout FileCursor, firstLSN: UInt64) throws {
        if let old = cursor.file {
            if cursor.unsynced {
                try timedSync(old)
                cursor.unsynced = false
                cursor.unsyncedSince = nil
                state.withLock { $0.durableLSN = $0.committedLSN }
            }
            try? old.close()
            cursor.file = nil
        }
        // A file already named for this LSN can hold only records that were never committed
        // (a write that failed and was rolled back), so it is replaced.
        let path = directory + "/" + WALFormat.fileName(firstLSN: firstLSN)
        let file = try fs.open(path, mode: .createOrTruncate)
        do {
            try WALFormat.encodeFileHeader(firstLSN: firstLSN).withUnsafeBytes { try file.write($0, at: 0) }
            try fs.syncDirectory(directory)
        } catch {
            try? file.close()
            throw error
        }
        cursor.file = file
        cursor.offset = Int64(WALFormat.fileHeaderSize)
        CrashPoint.reach("wal-after-rotate")
    }

    /// A write failed: roll the file back to its last good byte and refuse the failed records
    /// and everything queued behind them (their LSNs are reused, keeping the log consecutive).
    private func failWrite(_ failed: [Entry], error: any Error, cursor: inout FileCursor, chunkStart: Int64?) {
        let ioError = (error as? IOError) ?? IOError("write", path: directory, errno: EIO)
        if let file = cursor.file, let chunkStart {
            do {
                try file.truncate(to: chunkStart)
                try file.sync()
            } catch {
                failSync(failed, error: error, cursor: &cursor, chunkStart: nil)
                return
            }
        }
        logger.error("WAL write failed, \(failed.count) record(s) refused: \(ioError)")
        let queued = state.withLock { s -> [Entry] in
            let queued = s.queue
            s.queue.removeAll()
            s.nextLSN = failed.first?.lsn ?? s.nextLSN
            return queued
        }
        for entry in failed + queued { entry.continuation?.resume(throwing: WALError.io(ioError)) }
    }

    /// An fdatasync failed: the file's state on disk is unknown. Poison the writer: refuse
    /// everything in flight and everything after, until the database is reopened and recovered.
    private func failSync(_ failed: [Entry], error: any Error, cursor: inout FileCursor, chunkStart: Int64?) {
        let ioError = (error as? IOError) ?? IOError("fdatasync", path: directory, errno: EIO)
        logger.critical("WAL sync failed; refusing all writes until reopen: \(ioError)")
        if let file = cursor.file, let chunkStart {
            try? file.truncate(to: chunkStart)  // best effort, so refused records do not come back
        }
        let (queued, syncWaiters) = state.withLock { s -> ([Entry], [CheckedContinuation<Void, any Error>]) in
            s.failure = .failed(ioError)
            let queued = s.queue
            s.queue.removeAll()
            let waiters = s.syncWaiters.map(\.1)
            s.syncWaiters.removeAll()
            return (queued, waiters)
        }
        for entry in failed + queued { entry.continuation?.resume(throwing: WALError.failed(ioError)) }
        for w in syncWaiters { w.resume(throwing: WALError.failed(ioError)) }
    }

    /// Writes the close marker (after a sync, so its durable LSN covers every record), syncs,
    /// closes the file and wakes whoever called close().
    private func finishClose(_ cursor: inout FileCursor) {
        var closeError: (any Error)? = nil
        let poisoned = state.withLock { $0.failure != nil }
        if !poisoned, options.writesCloseMarker, cursor.file != nil || state.withLock({ $0.committedLSN > 0 }) {
            do { try writeCloseMarker(&cursor) } catch { closeError = error }
        }
        if let file = cursor.file { try? file.close() }
        cursor.file = nil
        let waiters = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.finished = true
            let w = s.closeWaiters
            s.closeWaiters.removeAll()
            return w
        }
        for w in waiters {
            if let closeError { w.resume(throwing: closeError) } else { w.resume() }
        }
    }

    private func writeCloseMarker(_ cursor: inout FileCursor) throws {
        guard cursor.file != nil else { return }  // nothing written since open
        var marker = WALRecordBuffer(internalType: .closeMarker)
        let lsn = state.withLock { s -> UInt64 in
            let lsn = s.nextLSN
            s.nextLSN += 1
            return lsn
        }
        let durable = state.withLock { $0.durableLSN }
        RecordCodec.seal(&marker, lsn: lsn, durableLSN: durable, bodyChecksum: 0)
        if cursor.offset + Int64(marker.writer.count) > Int64(options.maxFileSize) {
            try rotate(&cursor, firstLSN: lsn)
        }
        try marker.writer.bytes.withUnsafeBytes { try cursor.file!.write($0, at: cursor.offset) }
        cursor.offset += Int64(marker.writer.count)
        try timedSync(cursor.file!)
        state.withLock {
            $0.committedLSN = lsn
            $0.durableLSN = lsn
        }
    }
}
