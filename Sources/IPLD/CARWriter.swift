import HSDBCore

/// Writes a CARv1 stream: the header when created, then one section per `write`, in the
/// order given. It does not check that the roots appear among the sections, nor refuse
/// duplicates: the caller (the backup writer) owns the order and the catalogue.
///
/// Not Sendable: it holds the caller's output closure; use it from one task. Publishing the
/// file (fsync, rename) is the caller's job; a reader cannot tell a CAR cut at a section
/// boundary from a complete one.
public struct CARWriter {
    private let output: ([UInt8]) throws -> Void
    /// Bytes handed to the output so far; the offset the next section starts at.
    public private(set) var bytesWritten: Int64 = 0

    /// Writes the header through `output`; rethrows what `output` throws.
    public init(roots: [CID], output: @escaping ([UInt8]) throws -> Void) throws {
        self.output = output
        try emit(Self.header(roots: roots))
    }

    /// Writes to `file` from `offset` on (pwrite through HSDBCore's `File`).
    public init(roots: [CID], file: any File, startingAt offset: Int64 = 0) throws {
        var position = offset
        try self.init(roots: roots) { bytes in
            try bytes.withUnsafeBytes { try file.write($0, at: position) }
            position += Int64(bytes.count)
        }
    }

    /// Appends one section. Throws `carFormat` for a section over 8 MiB (no reader would
    /// take it). REQUIRES: `bytes` hash to `cid`.
    public mutating func write(cid: CID, bytes: [UInt8]) throws {
        assert(cid.matches(bytes), "block bytes do not hash to \(cid)")
        var section = try Self.sectionHead(cid, blockBytes: bytes.count)
        section.append(contentsOf: bytes)
        try emit(section)
    }

    /// The bytes of a section before its block: the length varint and the CID. For writers
    /// that send the block itself from elsewhere (a bootstrap stream sends leaves in place).
    public static func sectionHead(_ cid: CID, blockBytes: Int) throws -> [UInt8] {
        let cidBytes = cid.bytes
        let length = cidBytes.count + blockBytes
        guard length <= CARFormat.maxSectionBytes else {
            throw ArchiveCodecError.carFormat(reason:
                "section for \(cid) is \(length) bytes, over the \(CARFormat.maxSectionBytes)-byte limit")
        }
        var head = Varint.encode(UInt64(length))
        head.reserveCapacity(head.count + length)
        head.append(contentsOf: cidBytes)
        return head
    }

    /// The header's bytes as a stream begins: its length varint and the DAG-CBOR header.
    public static func header(roots: [CID]) -> [UInt8] {
        let header = CARHeader(roots: roots).encoded()
        return Varint.encode(UInt64(header.count)) + header
    }

    public mutating func write(_ block: Block) throws {
        try write(cid: block.cid, bytes: block.bytes)
    }

    private mutating func emit(_ bytes: [UInt8]) throws {
        try output(bytes)
        bytesWritten += Int64(bytes.count)
    }
}
