import Foundation
import IPLD

/// The constants of a backup directory and its root blocks (DESIGN.md, "Backup and
/// point-in-time restore"). Frozen: part of every backup written.
enum BackupFormat {
    /// The root block's `format` value.
    static let formatName = "hsdb-backup"
    static let version: UInt64 = 1
    /// The sparse LSN -> commit time index keeps every this-many-th clock record, and the last.
    static let timeIndexStride = 64
    /// Files are read this many bytes at a time while they are chunked (never whole).
    static let readChunkBytes = 1 << 20
    /// UnixFS leaves of WAL files: smaller than kubo's 256 KiB (which segments keep), because a
    /// WAL file grows between backups and its last, partial leaf is archived again each time.
    static let walChunkBytes = 64 << 10
    static let fileExtension = ".car"
    static let temporaryPrefix = "."
    static let temporarySuffix = ".tmp"

    /// `NNNNNN-full.car` / `NNNNNN-incremental.car`: the sequence, zero-padded to 6 digits.
    static func fileName(sequence: UInt64, kind: BackupKind) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits + "-" + kind.rawValue + fileExtension
    }

    /// The sequence and kind a backup file name says, or nil for any other name.
    static func parse(fileName name: String) -> (UInt64, BackupKind)? {
        guard name.hasSuffix(fileExtension), let dash = name.firstIndex(of: "-") else { return nil }
        let digits = name[..<dash]
        let kindText = name[name.index(after: dash)..<name.index(name.endIndex, offsetBy: -fileExtension.count)]
        guard digits.count >= 6, digits.allSatisfy(\.isASCII), let sequence = UInt64(digits),
              let kind = BackupKind(rawValue: String(kindText)) else { return nil }
        return (sequence, kind)
    }
}

/// A full backup writes every block; an incremental one skips blocks an earlier CAR of its
/// chain (back to the last full one) already holds. Both describe the whole state.
public enum BackupKind: String, Sendable {
    case full
    case incremental
}
