/// Reads a CARv1 stream as it arrives, in chunks of any size (a bootstrap's HTTP body):
/// the header first, then each section once all its bytes are in. The same limits and
/// errors as `CARReader` (offsets count from the start of the stream); it does not hash
/// blocks, which is the consumer's job (the assembler hashes each block it takes).
/// Not Sendable: one stream, one task.
public struct CARStreamParser {
    public let name: String
    public private(set) var header: CARHeader?
    /// Stream offset of `pending[start]`.
    private var offset: Int64 = 0
    private var pending: [UInt8] = []
    private var start = 0

    public init(name: String) { self.name = name }

    /// Adds bytes and returns the sections they complete, in order.
    public mutating func push(_ bytes: UnsafeRawBufferPointer) throws -> [CARSection] {
        if start > 0, start >= pending.count / 2 {
            pending.removeFirst(start)
            start = 0
        }
        pending.append(contentsOf: bytes)
        var out: [CARSection] = []
        while let section = try nextSection() { out.append(section) }
        return out
    }

    /// Checks the stream ended at a section boundary, after its header.
    public func finish() throws {
        guard header != nil else { throw fail(nil, .carFormat(reason: "the stream ended before its header")) }
        guard start == pending.count else {
            throw fail(nil, .carFormat(reason: "the stream ended inside a section (\(pending.count - start) bytes left over)"))
        }
    }

    /// The next whole item (the header, then sections), or nil when its bytes are not all in.
    private mutating func nextSection() throws -> CARSection? {
        while header == nil {
            guard let body = try item(limit: CARFormat.maxHeaderBytes, what: "header") else { return nil }
            do { header = try CARHeader(decoding: Array(body.bytes)) } catch { throw fail(nil, error) }
        }
        guard let body = try item(limit: CARFormat.maxSectionBytes, what: "section") else { return nil }
        var cidEnd = 0
        let cid: CID
        do { cid = try CID.read(body.bytes, at: &cidEnd) } catch { throw fail(nil, error, at: body.offset) }
        return CARSection(offset: body.offset, cid: cid, bytes: Array(body.bytes.dropFirst(cidEnd)))
    }

    /// One length-prefixed item, consumed, with the stream offset of its length varint.
    private mutating func item(limit: Int, what: String) throws -> (offset: Int64, bytes: ArraySlice<UInt8>)? {
        let available = pending.count - start
        guard available > 0 else { return nil }
        var end = start
        let length: UInt64
        do {
            length = try Varint.read(pending, at: &end)
        } catch {
            if available < Varint.maxBytes { return nil }  // the varint's last byte is still coming
            throw fail(nil, .carFormat(reason: "\(error)"))
        }
        guard length > 0, length <= UInt64(limit) else {
            throw fail(nil, .carFormat(reason: "\(what) length \(length) is 0 or over \(limit) bytes"))
        }
        guard pending.count - end >= Int(length) else { return nil }
        let itemOffset = offset
        let bytes = pending[end..<end + Int(length)]
        offset += Int64(end + Int(length) - start)
        start = end + Int(length)
        return (itemOffset, bytes)
    }

    private func fail(_ cid: CID?, _ error: ArchiveCodecError, at position: Int64? = nil) -> ArchiveCodecError {
        .car(file: name, offset: position ?? offset, cid: cid, error)
    }
}
