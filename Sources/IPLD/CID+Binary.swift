/// Parsing the binary form of a CID.
extension CID {
    /// Parses a CID that fills `bytes` exactly.
    public init(bytes: some RandomAccessCollection<UInt8>) throws(ArchiveCodecError) {
        var offset = 0
        self = try CID.read(bytes, at: &offset)
        guard offset == bytes.count else {
            throw .malformed(.cid, offset: offset, reason: "\(bytes.count - offset) bytes after the CID")
        }
    }

    /// Parses one CID starting at `offset` and moves `offset` past it (a CAR section starts
    /// with one, followed by the block).
    public static func read(
        _ bytes: some RandomAccessCollection<UInt8>, at offset: inout Int
    ) throws(ArchiveCodecError) -> CID {
        let start = offset
        // A v1 CID cannot start with 0x12: that byte is its version, and only 1 exists.
        let first = try Varint.read(bytes, at: &offset)
        if first == Multicodec.sha2_256 {
            offset = start
            let digest = try readMultihash(bytes, at: &offset)
            return CID(version: .v0, codec: .dagPB, digest: digest)
        }
        guard first == Multicodec.cidV1 else {
            throw .unsupported(.cid, reason: "CID version \(first) at offset \(start)")
        }
        let codecOffset = offset
        let code = try Varint.read(bytes, at: &offset)
        guard let codec = Codec(rawValue: code) else {
            throw .unsupported(.cid, reason: "codec 0x\(String(code, radix: 16)) at offset \(codecOffset)")
        }
        return CID(version: .v1, codec: codec, digest: try readMultihash(bytes, at: &offset))
    }

    /// A sha2-256 multihash: `12 20` then 32 digest bytes.
    private static func readMultihash(
        _ bytes: some RandomAccessCollection<UInt8>, at offset: inout Int
    ) throws(ArchiveCodecError) -> [UInt8] {
        let start = offset
        let function = try Varint.read(bytes, at: &offset)
        guard function == Multicodec.sha2_256 else {
            throw .unsupported(.cid, reason: "multihash 0x\(String(function, radix: 16)) at offset \(start)")
        }
        let length = try Varint.read(bytes, at: &offset)
        guard length == UInt64(Multicodec.sha2_256DigestBytes) else {
            throw .malformed(.cid, offset: start, reason: "sha2-256 digest length \(length), not 32")
        }
        guard bytes.count - offset >= Multicodec.sha2_256DigestBytes else {
            throw .malformed(.cid, offset: offset, reason: "digest cut short")
        }
        let from = bytes.index(bytes.startIndex, offsetBy: offset)
        let to = bytes.index(from, offsetBy: Multicodec.sha2_256DigestBytes)
        offset += Multicodec.sha2_256DigestBytes
        return Array(bytes[from..<to])
    }
}
