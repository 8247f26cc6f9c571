import HSDBCore

/// Errors of the write-ahead log.
public enum WALError: Error, CustomStringConvertible {
    /// Bytes in a WAL file that are not a valid record, where a torn tail cannot explain them.
    case corruption(CorruptionError)
    /// A file operation failed; the writes it carried were not acknowledged.
    case io(IOError)
    /// An earlier fsync failed. The log accepts nothing more until the database is reopened
    /// and recovered from what is on disk (a failed fsync is never retried and trusted).
    case failed(IOError)
    /// The writer was closed.
    case closed
    /// A record body over the format's limit.
    case recordTooLarge(bytes: Int, limit: Int)
    /// A replicated record was offered at an LSN other than the log's next one.
    case lsnMismatch(expected: UInt64, offered: UInt64)
    /// A reader asked for records the log no longer holds (retention deleted them).
    case notRetained(after: UInt64, firstRetained: UInt64?)

    public var description: String {
        switch self {
        case .corruption(let c): return "WAL \(c)"
        case .io(let e): return "WAL write failed, nothing acknowledged: \(e)"
        case .failed(let e): return "WAL is read-only after a failed sync (\(e)); reopen the database to recover from disk"
        case .closed: return "WAL is closed"
        case .recordTooLarge(let n, let limit): return "WAL record of \(n) bytes exceeds the limit of \(limit) bytes"
        case .lsnMismatch(let expected, let offered): return "WAL's next LSN is \(expected), a replicated record came at LSN \(offered)"
        case .notRetained(let after, let first):
            return "WAL records after LSN \(after) are no longer retained (\(first.map { "the log starts at LSN \($0)" } ?? "the log is empty"))"
        }
    }
}
