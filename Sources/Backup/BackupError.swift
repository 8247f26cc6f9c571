import HSDB
import IPLD

/// Every error of backup, verify and restore. A problem in the archive names the CAR file,
/// the byte offset of the section concerned and the CID involved, so an operator can look.
public enum BackupError: Error, Sendable, CustomStringConvertible {
    /// Damage or an inconsistency in a backup directory.
    case problem(file: String, offset: Int64, cid: CID?, reason: String)
    case noBackups(directory: String)
    case targetNotEmpty(String)
    /// The target is not restorable; `window` lists the restorable LSNs (and times).
    case outsideWindow(collection: String, target: String, window: String)
    case invalidArgument(String)
    /// The restored files' state digest differs from the one a backup recorded at `lsn`.
    case digestMismatch(collection: String, lsn: UInt64, expected: String, found: String)
    /// The database or file layer below failed.
    case engine(String)

    public var description: String {
        switch self {
        case .problem(let file, let offset, let cid, let reason):
            return "\(file) at offset \(offset)\(cid.map { ", block \($0)" } ?? ""): \(reason)"
        case .noBackups(let d): return "\(d) holds no backup"
        case .targetNotEmpty(let p): return "\(p) exists and is not empty; restore only into a new directory"
        case .outsideWindow(let c, let t, let w): return "collection '\(c)': \(t) is outside the restorable window \(w)"
        case .invalidArgument(let m): return m
        case .digestMismatch(let c, let lsn, let want, let got):
            return "collection '\(c)': the restored state at LSN \(lsn) does not match the backup's digest (recorded \(want); restored \(got)); nothing was restored"
        case .engine(let m): return m
        }
    }

    /// A CAR reading error as a located problem; anything else as an engine error.
    static func wrap(_ error: any Error, file: String) -> BackupError {
        switch error {
        case let e as BackupError: return e
        case ArchiveCodecError.car(let f, let offset, let cid, let inner):
            return .problem(file: f, offset: offset, cid: cid, reason: inner.description)
        case let e as ArchiveCodecError: return .problem(file: file, offset: 0, cid: nil, reason: e.description)
        default: return .engine(String(describing: error))
        }
    }
}
