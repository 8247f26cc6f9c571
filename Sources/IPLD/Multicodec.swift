/// The multicodec and multihash codes hsdb's archives use (multiformats/multicodec table.csv).
/// Frozen: they are part of every CID written. See DESIGN.md, "Backup archive".
public enum Multicodec {
    /// CID version 1 (CIDv0 has no version byte).
    public static let cidV1: UInt64 = 0x01
    /// Block content codecs.
    public static let raw: UInt64 = 0x55
    public static let dagPB: UInt64 = 0x70
    public static let dagCBOR: UInt64 = 0x71
    /// Multihash function sha2-256, and its digest length.
    public static let sha2_256: UInt64 = 0x12
    public static let sha2_256DigestBytes = 32
}
