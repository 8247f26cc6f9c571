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
        let header = CARHeader(roots: roots).encoded()
        var bytes = Varint.encode(UInt64(header.count))
        bytes.append(contentsOf: header)
        try emit(bytes)
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
        let cidBytes = cid.bytes
        let length = cidBytes.count + bytes.count
        guard length <= CARFormat.maxSectionBytes else {
            throw ArchiveCodecError.carFormat(reason:
                "section for \(cid) is \(length) bytes, over the \(CARFormat.maxSectionBytes)-byte limit")
        }
        var section = Varint.encode(UInt64(length))
        section.reserveCapacity(section.count + length)
        section.append(contentsOf: cidBytes)
        section.append(contentsOf: bytes)
        try emit(section)
    }

    public mutating func write(_ block: Block) throws {
        try write(cid: block.cid, bytes: block.bytes)
    }

    private mutating func emit(_ bytes: [UInt8]) throws {
        try output(bytes)
        bytesWritten += Int64(bytes.count)
    }
}
