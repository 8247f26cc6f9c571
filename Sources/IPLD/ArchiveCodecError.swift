/// Every error the archive codecs throw (varint, CID, DAG-CBOR, DAG-PB, UnixFS, CAR). Each
/// case names where the problem is: the format and byte offset inside the item being decoded,
/// the CID of the block, or the CAR file and the offset of its section. Messages never quote
/// block contents.
public enum ArchiveCodecError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Bytes that break the grammar of `format` at `offset` (relative to the decoded item).
    case malformed(ArchiveFormat, offset: Int, reason: String)
    /// Well-formed bytes that are not the one canonical encoding (DAG-CBOR, DAG-PB, varints).
    case nonCanonical(ArchiveFormat, offset: Int, reason: String)
    /// A valid encoding of something these codecs do not handle (a codec, hash, CBOR tag).
    case unsupported(ArchiveFormat, reason: String)
    /// A block's bytes do not hash to its CID.
    case hashMismatch(CID)
    /// The block lookup had no block for this CID.
    case blockNotFound(CID)
    /// A UnixFS file DAG whose structure or sizes disagree (blocksizes, filesize, Tsize).
    indirect case unixFS(CID, reason: String)
    /// A block that failed to decode, with the CID it was fetched under.
    indirect case inBlock(CID, ArchiveCodecError)
    /// A CAR file problem: the file, the byte offset of the header or section, the section's
    /// CID once it is known, and what is wrong.
    indirect case car(file: String, offset: Int64, cid: CID?, ArchiveCodecError)
    /// A CAR file that is not what the reader can read (truncated, oversize section, version).
    case carFormat(reason: String)

    public var description: String {
        switch self {
        case .malformed(let f, let o, let r): return "malformed \(f.rawValue) at offset \(o): \(r)"
        case .nonCanonical(let f, let o, let r): return "non-canonical \(f.rawValue) at offset \(o): \(r)"
        case .unsupported(let f, let r): return "unsupported \(f.rawValue): \(r)"
        case .hashMismatch(let cid): return "block \(cid) does not hash to its CID"
        case .blockNotFound(let cid): return "block \(cid) not found"
        case .unixFS(let cid, let r): return "UnixFS node \(cid): \(r)"
        case .inBlock(let cid, let e): return "block \(cid): \(e)"
        case .car(let file, let offset, let cid, let e):
            let block = cid.map { " (block \($0))" } ?? ""
            return "CAR \(file) at offset \(offset)\(block): \(e)"
        case .carFormat(let r): return r
        }
    }
}

/// The formats named in errors and in DESIGN.md, "Backup archive".
public enum ArchiveFormat: String, Sendable {
    case varint
    case cid = "CID"
    case base32
    case dagCBOR = "DAG-CBOR"
    case dagPB = "DAG-PB"
    case unixFS = "UnixFS"
    case car = "CAR"
}
