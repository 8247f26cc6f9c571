import IPLD
/// The root block of one backup CAR (DAG-CBOR): the full description of the database state
/// it captured, and a link to the previous backup's root. DESIGN.md, "Backup and
/// point-in-time restore", lists the keys and types.
public struct BackupRoot: Sendable, Equatable {
    public var kind: BackupKind
    public var sequence: UInt64
    /// Nanoseconds since the Unix epoch.
    public var createdNanoseconds: UInt64
    /// nil for the first backup of a directory.
    public var previous: CID?
    /// Sorted by name.
    public var collections: [BackupCollection]
}

/// One collection as a backup captured it.
public struct BackupCollection: Sendable, Equatable {
    public struct SegmentFile: Sendable, Equatable {
        /// The SHA-256 content id, hex (the segment file's name without `.seg`).
        public var contentID: String
        public var file: CID
        public var bytes: UInt64
    }

    public struct WALFile: Sendable, Equatable {
        public var name: String
        public var file: CID
        public var bytes: UInt64
        public var firstLSN: UInt64
        /// firstLSN - 1 for a file without records.
        public var lastLSN: UInt64
    }

    public struct TimePoint: Sendable, Equatable {
        public var lsn: UInt64
        public var time: UInt64
    }

    /// The collection's state at `lsn`, the backup's last LSN: the state tree's root
    /// (`tree`), or in roots written before it, the XOR digest's root (`digest`).
    public struct Digest: Sendable, Equatable {
        public enum Kind: String, Sendable { case tree, xor }
        public var kind: Kind = .tree
        public var lsn: UInt64
        public var points: UInt64
        /// 32 bytes.
        public var root: [UInt8]
    }

    public var name: String
    /// Raw block of `collection.meta`.
    public var metadata: CID
    /// Raw block of `MANIFEST`, nil while the collection has never flushed.
    public var manifest: CID?
    public var flushedLSN: UInt64
    public var segments: [SegmentFile]
    public var wal: [WALFile]
    /// The records the WAL files hold are firstLSN...lastLSN (empty: lastLSN = firstLSN - 1).
    public var firstLSN: UInt64
    public var lastLSN: UInt64
    /// First and last commit time in the WAL files; nil without clock records.
    public var firstTime: UInt64?
    public var lastTime: UInt64?
    /// Sparse: every 64th clock record and the last, in LSN order.
    public var times: [TimePoint]
    /// nil in backups written before digests were recorded (restore then skips the check).
    public var digest: Digest? = nil

    /// The LSNs this backup restores on its own: from its flushed state to its last record,
    /// if its WAL reaches back to the flushed LSN.
    public var ownWindow: ClosedRange<UInt64>? {
        guard firstLSN <= flushedLSN + 1, flushedLSN <= lastLSN || wal.isEmpty else { return nil }
        return flushedLSN...max(flushedLSN, lastLSN)
    }
}
