/// The text forms of a CID: CIDv1 is multibase `b` + lower-case base32 of its bytes
/// (`bafkrei…` raw, `bafybei…` dag-pb, `bafyrei…` dag-cbor); CIDv0 is the base58btc of its
/// multihash with no prefix (`Qm…`).
extension CID {
    public var text: String {
        switch version {
        case .v1: return "b" + Base32.encode(bytes)
        case .v0: return Base58.encode(bytes)
        }
    }

    /// Parses either text form. Other multibases (upper-case `B`, `z`, …) are refused: hsdb
    /// writes only `b`, and one spelling per CID keeps text comparisons exact.
    public init(text: String) throws(ArchiveCodecError) {
        let bytes: [UInt8]
        if text.hasPrefix("Qm"), text.utf8.count == 46 {
            bytes = try Base58.decode(Substring(text))
            guard bytes.first == UInt8(Multicodec.sha2_256) else {
                throw .malformed(.cid, offset: 0, reason: "a CIDv0 must be a sha2-256 multihash")
            }
        } else if text.hasPrefix("b") {
            bytes = try Base32.decode(text.dropFirst())
            guard bytes.first == UInt8(Multicodec.cidV1) else {
                throw .malformed(.cid, offset: 0, reason: "base32 text must hold a CIDv1")
            }
        } else {
            throw .unsupported(.cid, reason: "multibase prefix other than 'b' (or a CIDv0 'Qm…')")
        }
        try self.init(bytes: bytes)
    }
}
