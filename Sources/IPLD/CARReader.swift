import HSDBCore

/// One section of a CAR file: where it starts (the offset of its length varint), its CID
/// and its block bytes.
public struct CARSection: Hashable, Sendable {
    public let offset: Int64
    public let cid: CID
    public let bytes: [UInt8]

    public var block: Block { Block(cid: cid, bytes: bytes) }
}

/// Reads a CARv1 stream: the header when created, then one section per `next()`, holding
/// only that section in memory. Every error is `ArchiveCodecError.car` naming the file, the
/// offset of the header or section and, once parsed, the section's CID; I/O errors from the
/// source are rethrown unchanged.
///
/// Per anomaly: a length varint cut short, a section longer than the bytes left, or a
/// zero-length section is a truncation or damage error; a section over 8 MiB is refused
/// before anything is allocated; with `verifyBlocks`, a block that does not hash to its CID
/// is `hashMismatch`. A file that ends exactly at a section boundary reads as complete: the
/// caller must know how many sections (or which CIDs) to expect.
///
/// Not Sendable: it holds the caller's read closure; use it from one task.
public struct CARReader {
    public let file: String
    public let header: CARHeader
    /// Offset of the first section (the header's varint and bytes come before it).
    public let firstSectionOffset: Int64
    public let verifyBlocks: Bool
    /// Offset of the next section to read.
    public private(set) var offset: Int64
    /// Reads up to `count` bytes at an offset; fewer only at end of input.
    private let readAt: (Int64, Int) throws -> [UInt8]

    /// `name` is what errors call the input.
    public init(name: String, verifyBlocks: Bool = true, readAt: @escaping (Int64, Int) throws -> [UInt8]) throws {
        self.file = name
        self.verifyBlocks = verifyBlocks
        self.readAt = readAt
        guard let (length, varintSize) = try Self.readLength(name, at: 0, readAt: readAt) else {
            throw ArchiveCodecError.car(file: name, offset: 0, cid: nil, .carFormat(reason: "empty file"))
        }
        guard length > 0, length <= UInt64(CARFormat.maxHeaderBytes) else {
            throw ArchiveCodecError.car(file: name, offset: 0, cid: nil,
                                        .carFormat(reason: "header length \(length) is 0 or over 32 MiB"))
        }
        let bytes = try readAt(Int64(varintSize), Int(length))
        guard bytes.count == Int(length) else {
            let reason = "header truncated: \(length) bytes claimed, \(bytes.count) present"
            throw ArchiveCodecError.car(file: name, offset: 0, cid: nil, .carFormat(reason: reason))
        }
        do {
            header = try CARHeader(decoding: bytes)
        } catch {
            throw ArchiveCodecError.car(file: name, offset: 0, cid: nil, error)
        }
        firstSectionOffset = Int64(varintSize) + Int64(length)
        offset = firstSectionOffset
    }

    /// Reads through HSDBCore's `File` (pread), named by its path.
    public init(file: any File, verifyBlocks: Bool = true) throws {
        try self.init(name: file.path, verifyBlocks: verifyBlocks) { offset, count in
            var buffer = [UInt8](repeating: 0, count: count)
            let n = try buffer.withUnsafeMutableBytes { try file.read(into: $0, at: offset) }
            buffer.removeLast(count - n)
            return buffer
        }
    }

    /// Reads a CAR held in memory.
    public init(bytes: [UInt8], name: String = "<memory>", verifyBlocks: Bool = true) throws {
        try self.init(name: name, verifyBlocks: verifyBlocks) { offset, count in
            let from = Int(min(offset, Int64(bytes.count)))
            return Array(bytes[from..<min(from + count, bytes.count)])
        }
    }

    /// The next section, or nil at the end of the file.
    public mutating func next() throws -> CARSection? {
        let start = offset
        func fail(_ cid: CID?, _ error: ArchiveCodecError) -> ArchiveCodecError {
            .car(file: file, offset: start, cid: cid, error)
        }
        guard let (length, varintSize) = try Self.readLength(file, at: start, readAt: readAt) else { return nil }
        guard length > 0 else { throw fail(nil, .carFormat(reason: "zero-length section")) }
        guard length <= UInt64(CARFormat.maxSectionBytes) else {
            throw fail(nil, .carFormat(reason: "section of \(length) bytes, over the 8 MiB limit"))
        }
        let bytes = try readAt(start + Int64(varintSize), Int(length))
        guard bytes.count == Int(length) else {
            throw fail(nil, .carFormat(reason: "section truncated: \(length) bytes claimed, \(bytes.count) present"))
        }
        var cidEnd = 0
        let cid: CID
        do { cid = try CID.read(bytes, at: &cidEnd) } catch { throw fail(nil, error) }
        let block = Array(bytes[cidEnd...])
        if verifyBlocks, !cid.matches(block) { throw fail(cid, .hashMismatch(cid)) }
        offset = start + Int64(varintSize) + Int64(length)
        return CARSection(offset: start, cid: cid, bytes: block)
    }

    /// The length varint at `offset` and its size, or nil when the input ends there.
    private static func readLength(
        _ file: String, at offset: Int64, readAt: (Int64, Int) throws -> [UInt8]
    ) throws -> (UInt64, Int)? {
        let peek = try readAt(offset, Varint.maxBytes)
        if peek.isEmpty { return nil }
        var end = 0
        do {
            let length = try Varint.read(peek, at: &end)
            return (length, end)
        } catch {
            let reason = peek.count < Varint.maxBytes ? "length cut short at the end of the file: \(error)" : "\(error)"
            throw ArchiveCodecError.car(file: file, offset: offset, cid: nil, .carFormat(reason: reason))
        }
    }
}
