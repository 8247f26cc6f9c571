import Crypto

/// A content identifier: which codec a block is in, and the SHA-256 of its bytes.
///
/// Binary form (DESIGN.md, "Backup archive"):
/// - CIDv1 = varint(1) ‖ varint(codec) ‖ varint(0x12) ‖ varint(32) ‖ 32-byte digest;
///   with the codecs here it is always 36 bytes: `01 <codec> 12 20 <digest>`.
/// - CIDv0 = the bare multihash `12 20 <digest>` (34 bytes), codec implied dag-pb. hsdb
///   writes only v1 but reads v0, since kubo's default DAGs link with it.
/// Only sha2-256 and the codecs raw, dag-pb and dag-cbor are accepted; anything else is
/// `unsupported` rather than carried along unverified.
public struct CID: Hashable, Sendable, CustomStringConvertible {
    public enum Version: Int, Sendable { case v0 = 0, v1 = 1 }

    public enum Codec: UInt64, Sendable {
        case raw = 0x55
        case dagPB = 0x70
        case dagCBOR = 0x71
    }

    public let version: Version
    public let codec: Codec
    /// The 32-byte sha2-256 digest of the block.
    public let digest: [UInt8]

    /// REQUIRES: 32 digest bytes; a v0 CID is dag-pb.
    public init(version: Version = .v1, codec: Codec, digest: [UInt8]) {
        precondition(digest.count == Multicodec.sha2_256DigestBytes, "sha2-256 digests are 32 bytes")
        precondition(version == .v1 || codec == .dagPB, "CIDv0 is always dag-pb")
        self.version = version
        self.codec = codec
        self.digest = digest
    }

    /// The CIDv1 (or v0) of `block`, hashing it with SHA-256.
    public static func compute(_ block: UnsafeRawBufferPointer, codec: Codec, version: Version = .v1) -> CID {
        CID(version: version, codec: codec, digest: sha256(block))
    }

    public static func compute(_ block: [UInt8], codec: Codec, version: Version = .v1) -> CID {
        block.withUnsafeBytes { compute($0, codec: codec, version: version) }
    }

    /// Whether `block` hashes to this CID's digest.
    public func matches(_ block: [UInt8]) -> Bool {
        block.withUnsafeBytes { CID.sha256($0) } == digest
    }

    static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return Array(hasher.finalize())
    }

    /// The binary form: 36 bytes for v1, 34 for v0.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(36)
        if version == .v1 {
            Varint.append(Multicodec.cidV1, to: &out)
            Varint.append(codec.rawValue, to: &out)
        }
        Varint.append(Multicodec.sha2_256, to: &out)
        Varint.append(UInt64(Multicodec.sha2_256DigestBytes), to: &out)
        out.append(contentsOf: digest)
        return out
    }

    public var description: String { text }
}
