/// One content-addressed block: its bytes and the CID they hash to. What the UnixFS builder
/// emits and a CAR section holds.
public struct Block: Hashable, Sendable {
    public let cid: CID
    public let bytes: [UInt8]

    /// REQUIRES: `bytes` hash to `cid` (callers compute the CID from the bytes).
    public init(cid: CID, bytes: [UInt8]) {
        self.cid = cid
        self.bytes = bytes
    }

    /// A block with its CID computed from its bytes.
    public init(codec: CID.Codec, version: CID.Version = .v1, bytes: [UInt8]) {
        self.init(cid: CID.compute(bytes, codec: codec, version: version), bytes: bytes)
    }
}
