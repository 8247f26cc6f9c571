/// CARv1 constants shared by the writer and reader (DESIGN.md, "Backup archive"):
///
///     varint(H) ‖ header: H bytes of DAG-CBOR {"roots": [CID, …], "version": 1}
///     varint(L) ‖ CID bytes ‖ block bytes        (L = CID + block; repeated to end of file)
///
/// No magic, padding, index, trailer or checksum: a block is checked by hashing it against
/// its CID, and the end of the file is the end of the last section.
public enum CARFormat {
    public static let version: UInt64 = 1
    /// go-car's `DefaultMaxAllowedSectionSize`: readers refuse a longer section, so hsdb
    /// neither writes nor reads one.
    public static let maxSectionBytes = 8 << 20
    /// go-car's `DefaultMaxAllowedHeaderSize`.
    public static let maxHeaderBytes = 32 << 20
    static let rootsKey = "roots"
    static let versionKey = "version"
}
