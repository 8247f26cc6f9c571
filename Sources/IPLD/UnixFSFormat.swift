/// UnixFS constants shared by the file builder and reader (DESIGN.md, "Backup archive").
/// The layout numbers are kubo's defaults for `ipfs add`; changing them changes every CID.
public enum UnixFSFormat {
    /// kubo's fixed-size chunker, `size-262144`.
    public static let defaultChunkSizeBytes = 262_144
    /// kubo's balanced layout puts at most this many links in a DAG-PB node
    /// (boxo's `DefaultLinksPerBlock`: 8 KiB of links at a rough 47 bytes each).
    public static let defaultMaxLinksPerNode = 174
    /// Deeper DAGs are refused by the reader (174^8 chunks is far beyond any file).
    static let maxDepth = 8

    /// The UnixFS `Data` message's field numbers. Frozen.
    static let typeField: UInt64 = 1
    static let dataField: UInt64 = 2
    static let fileSizeField: UInt64 = 3
    static let blockSizesField: UInt64 = 4
    /// Fields kubo may add to a file node (hashType, fanout, mode, mtime): skipped on read.
    static let skippedFields: ClosedRange<UInt64> = 5...8
}

/// The UnixFS node types (`DataType` in the UnixFS protobuf). Only `raw` and `file` occur in
/// file DAGs; the others are named so errors can say what was found.
public enum UnixFSType: UInt64, Sendable {
    case raw = 0, directory = 1, file = 2, metadata = 3, symlink = 4, hamtShard = 5
}
