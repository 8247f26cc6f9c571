import HSDBCore

/// A record as shipped between logs: its LSN, type and body, without the framing (the
/// receiving log frames it anew: its own durable LSN, its own clock records).
public struct WALEntry: Sendable, Equatable {
    public let lsn: UInt64
    public let type: WALRecordType
    public let body: [UInt8]

    public init(lsn: UInt64, type: WALRecordType, body: [UInt8]) {
        self.lsn = lsn
        self.type = type
        self.body = body
    }
}

extension WALWriter {
    /// Appends records copied from another log at their own LSNs (a follower's log holds its
    /// leader's records at the leader's LSNs). The first must be the log's next LSN and the
    /// rest consecutive, else nothing is appended (`WALError.lsnMismatch`). Close markers are
    /// copied too: they took an LSN in the leader's log. `onCommit` runs for each record in
    /// LSN order as its group commit completes; the call returns when the last is acknowledged.
    /// A write failure refuses the records not yet committed: a prefix may have been.
    public func appendReplicated(_ entries: [WALEntry], onCommit: CommitHandler? = nil) async throws {
        guard let first = entries.first else { return }
        for (i, e) in entries.enumerated() {
            guard e.lsn == first.lsn + UInt64(i) else { throw WALError.lsnMismatch(expected: first.lsn + UInt64(i), offered: e.lsn) }
            guard e.type.isValid, e.type != .clock, e.body.count <= WALFormat.maxBodySize else {
                throw WALError.recordTooLarge(bytes: e.body.count, limit: WALFormat.maxBodySize)
            }
        }
        var buffers = entries.map { e in
            var record = WALRecordBuffer(internalType: e.type)
            record.writer.write(bytes: e.body)
            return (record, RecordCodec.bodyChecksum(record))
        }
        let _: UInt64 = try await withCheckedThrowingContinuation { continuation in
            let wakeSyncer = state.withLock { s -> Bool in
                if let failure = s.failure {
                    continuation.resume(throwing: failure)
                    return false
                }
                if s.closing || s.finished {
                    continuation.resume(throwing: WALError.closed)
                    return false
                }
                guard s.nextLSN == first.lsn else {
                    continuation.resume(throwing: WALError.lsnMismatch(expected: s.nextLSN, offered: first.lsn))
                    return false
                }
                for i in buffers.indices {
                    let lsn = s.nextLSN
                    s.nextLSN += 1
                    RecordCodec.seal(&buffers[i].0, lsn: lsn, durableLSN: s.durableLSN, bodyChecksum: buffers[i].1)
                    let last = i == buffers.count - 1
                    s.queue.append(Entry(record: buffers[i].0, lsn: lsn, continuation: last ? continuation : nil, onCommit: onCommit))
                }
                return takeIdleSyncer(&s)
            }
            if wakeSyncer { wake.signal() }
        }
    }
}
