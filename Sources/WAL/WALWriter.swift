import Dispatch
import Foundation
import HSDBCore
import Logging
import Synchronization

public struct WALWriterOptions: Sendable {
    public var durability: DurabilityMode = .fsync
    /// A file is rotated before a record would take it past this size (a record larger than
    /// this gets a file of its own).
    public var maxFileSize = 64 << 20
    /// The most bytes one group-commit batch writes before its sync.
    public var maxBatchBytes = 32 << 20
    /// The wall clock of commit times (nanoseconds since the Unix epoch); tests step it back.
    public var clock: @Sendable () -> UInt64 = WALClock.now
    /// Write a close marker at a clean close. A follower's log turns this off: its LSNs are
    /// its leader's, close markers included, so it must not take one of its own.
    public var writesCloseMarker = true

    public init(
        durability: DurabilityMode = .fsync, maxFileSize: Int = 64 << 20, maxBatchBytes: Int = 32 << 20,
        clock: @escaping @Sendable () -> UInt64 = WALClock.now, writesCloseMarker: Bool = true
    ) {
        self.durability = durability
        self.maxFileSize = maxFileSize
        self.maxBatchBytes = maxBatchBytes
        self.clock = clock
        self.writesCloseMarker = writesCloseMarker
    }
}

/// Appends records to the WAL with group commit.
///
/// Writers call `append`, which assigns the next LSN, queues the sealed record and suspends.
/// One syncer thread (a real thread: it blocks in pwrite and fdatasync, which the cooperative
/// pool must never do) takes everything queued, writes it with one pwrite, makes it durable
/// with one fdatasync, runs each record's commit handler in LSN order, and resumes the writers.
/// Writers that arrive during a sync form the next batch, so 64 writers share one fdatasync.
///
/// Invariants:
/// - LSNs in the log are consecutive; records reach the file in LSN order.
/// - In `fsync` mode a writer is resumed (and its commit handler run) only after the fdatasync
///   covering its record returned.
/// - After a failed fdatasync nothing more is acknowledged (`WALError.failed`) until reopen.
/// - After a failed write the file is truncated back to the last good record, the failed and
///   all queued records are refused, and later appends carry on (space may come back).
public final class WALWriter: Sendable {
    public typealias CommitHandler = @Sendable (UInt64) -> Void

    public let directory: String
    public let options: WALWriterOptions
    public let statistics = WALStatistics()
    let fs: any FileSystem
    let logger: Logger
    let state: Mutex<State>
    let wake = DispatchSemaphore(value: 0)

    struct Entry {
        var record: WALRecordBuffer
        let lsn: UInt64
        let continuation: CheckedContinuation<UInt64, any Error>?
        let onCommit: CommitHandler?
    }

    struct State {
        var nextLSN: UInt64
        /// Every record up to here is on disk (fdatasync returned).
        var durableLSN: UInt64
        /// Every record up to here was written and acknowledged.
        var committedLSN: UInt64
        /// The commit time of the record at `committedLSN` (nanoseconds since the Unix epoch).
        var lastCommitTime: UInt64
        var queue: [Entry] = []
        var syncerIdle = false
        var failure: WALError?
        var closing = false
        var finished = false
        var closeWaiters: [CheckedContinuation<Void, any Error>] = []
        var syncWaiters: [(UInt64, CheckedContinuation<Void, any Error>)] = []
    }

    /// Opens the writer after recovery: appends continue in the last recovered file.
    public init(
        fileSystem: any FileSystem, directory: String, recovered: WALRecoveryReport,
        options: WALWriterOptions = .init(), logger: Logger = Logger(label: "hsdb.wal")
    ) throws {
        self.fs = fileSystem
        self.directory = directory
        self.options = options
        self.logger = logger
        let last = recovered.lastLSN
        state = Mutex(State(nextLSN: last + 1, durableLSN: last, committedLSN: last, lastCommitTime: recovered.lastCommitTime))
        var cursor = FileCursor(lastCommitTime: recovered.lastCommitTime)
        // A file of an older format version is not appended to: the next record starts a new file.
        if let tail = recovered.files.last, tail.version == WALFormat.formatVersion, tail.validBytes < Int64(options.maxFileSize) {
            cursor.file = try WALRecovery.openOrThrow(fileSystem, directory + "/" + tail.name, .readWrite)
            cursor.offset = tail.validBytes
        }
        let startedCursor = cursor
        let thread = Thread { [self] in runSyncer(startedCursor) }
        thread.name = "hsdb.wal.syncer"
        thread.start()
    }

    /// The LSN the next appended record will get.
    public var nextLSN: UInt64 { state.withLock { $0.nextLSN } }
    /// Every record up to this LSN is durable on disk.
    public var durableLSN: UInt64 { state.withLock { $0.durableLSN } }
    /// The last acknowledged LSN and its commit time (nanoseconds since the Unix epoch; 0 when
    /// no clock record was ever written, as in a log of format version 1).
    public var lastCommit: (lsn: UInt64, time: UInt64) { state.withLock { ($0.committedLSN, $0.lastCommitTime) } }

    /// Appends a record and returns its LSN once it is acknowledged under the durability mode.
    /// `onCommit` runs on the syncer thread, in LSN order, before any later record's handler
    /// and before this call returns; it must be quick and must not call back into the writer.
    /// The record is consumed: its buffer is sealed in place, so a caller that kept a copy
    /// would force a copy of the whole body.
    public func append(_ record: consuming WALRecordBuffer, onCommit: CommitHandler? = nil) async throws -> UInt64 {
        guard record.bodySize <= WALFormat.maxBodySize else {
            throw WALError.recordTooLarge(bytes: record.bodySize, limit: WALFormat.maxBodySize)
        }
        let bodyChecksum = RecordCodec.bodyChecksum(record)
        var sealed = consume record
        return try await withCheckedThrowingContinuation { continuation in
            let wakeSyncer = state.withLock { s -> Bool in
                if let failure = s.failure {
                    continuation.resume(throwing: failure)
                    return false
                }
                if s.closing || s.finished {
                    continuation.resume(throwing: WALError.closed)
                    return false
                }
                let lsn = s.nextLSN
                s.nextLSN += 1
                RecordCodec.seal(&sealed, lsn: lsn, durableLSN: s.durableLSN, bodyChecksum: bodyChecksum)
                s.queue.append(Entry(record: sealed, lsn: lsn, continuation: continuation, onCommit: onCommit))
                return takeIdleSyncer(&s)
            }
            if wakeSyncer { wake.signal() }
        }
    }

    /// Waits until every record appended before this call is durable (syncing if the mode has
    /// not). For `interval` and `none` modes; in `fsync` mode it returns once they are acknowledged.
    public func sync() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let wakeSyncer = state.withLock { s -> Bool in
                if let failure = s.failure {
                    continuation.resume(throwing: failure)
                    return false
                }
                let target = s.nextLSN - 1
                if s.durableLSN >= target || s.finished {
                    continuation.resume()
                    return false
                }
                s.syncWaiters.append((target, continuation))
                return takeIdleSyncer(&s)
            }
            if wakeSyncer { wake.signal() }
        }
    }

    /// Writes what is queued, makes it durable, writes a close marker and stops the syncer.
    /// Appends after this throw `WALError.closed`.
    public func close() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let wakeSyncer = state.withLock { s -> Bool in
                if s.finished {
                    continuation.resume()
                    return false
                }
                s.closing = true
                s.closeWaiters.append(continuation)
                return takeIdleSyncer(&s)
            }
            if wakeSyncer { wake.signal() }
        }
    }

    func takeIdleSyncer(_ s: inout State) -> Bool {
        guard s.syncerIdle else { return false }
        s.syncerIdle = false
        return true
    }
}
