import HSDBCore
import WAL

/// Every error the engine's public API throws. Messages say what was wrong and what to do;
/// they never contain vectors or payloads.
public enum HSDBError: Error, CustomStringConvertible, Equatable {
    /// The request was wrong (dimension, non-finite value, name, limit); nothing changed.
    case invalidArgument(String)
    case collectionNotFound(String)
    case collectionAlreadyExists(String)
    case aliasNotFound(String)
    /// A write that needs an existing point named one that does not exist.
    case pointNotFound(PointID)
    /// Another process (or another open `Database`) holds the directory.
    case databaseLocked(path: String, holderPID: Int32?)
    /// The directory exists but is not an hsdb database (or is a newer format).
    case notADatabase(path: String, reason: String)
    /// Bytes on disk fail their checksum or structure; names file and offset.
    case corruption(CorruptionError)
    case io(IOError)
    /// Writes are refused after a failed fsync until the database is reopened.
    case readOnly(String)
    /// The database or collection was closed or dropped.
    case closed
    /// WAL records asked for (by a follower, from an LSN) are no longer kept.
    case walNotRetained(String)

    public var description: String {
        switch self {
        case .invalidArgument(let m): return m
        case .collectionNotFound(let n): return "collection '\(n)' does not exist"
        case .collectionAlreadyExists(let n): return "collection '\(n)' already exists"
        case .aliasNotFound(let n): return "alias '\(n)' does not exist"
        case .pointNotFound(let id): return "No point with id \(id) found"
        case .databaseLocked(let path, let pid):
            let holder = pid.map { "process \($0)" } ?? "another process"
            return "database \(path) is in use by \(holder); stop it or open another directory"
        case .notADatabase(let path, let reason): return "\(path) is not an hsdb database: \(reason)"
        case .corruption(let c): return "\(c) (run `hsdb verify`; open with skipCorruption to salvage)"
        case .io(let e): return e.description
        case .readOnly(let m): return m
        case .closed: return "the database or collection is closed"
        case .walNotRetained(let m): return m
        }
    }

    /// Maps an error from a lower layer.
    static func wrap(_ error: any Error) -> HSDBError {
        switch error {
        case let e as HSDBError: return e
        case let e as IOError: return .io(e)
        case let e as CorruptionError: return .corruption(e)
        case let e as WALError:
            switch e {
            case .corruption(let c): return .corruption(c)
            case .io(let io): return .io(io)
            case .failed: return .readOnly(e.description)
            case .closed: return .closed
            case .recordTooLarge, .lsnMismatch: return .invalidArgument(e.description)
            case .notRetained: return .walNotRetained(e.description)
            }
        default: return .io(IOError(String(describing: error), path: "", errno: 0))
        }
    }
}
