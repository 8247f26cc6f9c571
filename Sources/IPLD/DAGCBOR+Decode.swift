/// The strict DAG-CBOR decoder: it accepts exactly the bytes the encoder would write for the
/// value it returns, and refuses everything else with the offset of the first offending item.
extension DAGCBOR {
    /// Decodes one item that fills `bytes` exactly.
    public init(decoding bytes: [UInt8]) throws(ArchiveCodecError) {
        var decoder = CBORDecoder(bytes: bytes)
        let value = try decoder.item(depth: 0)
        guard decoder.offset == bytes.count else {
            throw .malformed(.dagCBOR, offset: decoder.offset, reason: "bytes after the top-level item")
        }
        // Belt and braces: the checks above are meant to be complete; re-encoding proves it.
        let again = value.encoded()
        guard again == bytes else {
            let at = zip(again, bytes).prefix { $0 == $1 }.count
            throw .nonCanonical(.dagCBOR, offset: at, reason: "differs from the canonical encoding")
        }
        self = value
    }
}

private struct CBORDecoder {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func item(depth: Int) throws(ArchiveCodecError) -> DAGCBOR {
        guard depth <= CBORFormat.maxDepth else {
            throw .unsupported(.dagCBOR, reason: "nesting deeper than \(CBORFormat.maxDepth) at offset \(offset)")
        }
        let start = offset
        let initial = try byte()
        let major = initial >> 5
        let info = initial & 0x1F
        if major == CBORFormat.simple { return try simple(info, start: start) }
        let argument = try head(info, start: start)
        switch major {
        case CBORFormat.unsigned: return .unsigned(argument)
        case CBORFormat.negative: return .negative(argument)
        case CBORFormat.bytes: return .bytes(try take(argument, start: start))
        case CBORFormat.text: return .text(try text(argument, start: start))
        case CBORFormat.array: return .array(try array(count: argument, depth: depth, start: start))
        case CBORFormat.map: return .map(try map(count: argument, depth: depth, start: start))
        default: return try link(tag: argument, start: start)
        }
    }

    /// The argument of a head whose first byte was just read; refuses non-shortest forms.
    private mutating func head(_ info: UInt8, start: Int) throws(ArchiveCodecError) -> UInt64 {
        switch info {
        case 0..<24: return UInt64(info)
        case 24...27:
            let width = 1 << Int(info - 24)
            var value: UInt64 = 0
            for _ in 0..<width { value = value << 8 | UInt64(try byte()) }
            let smallest: UInt64 = width == 1 ? 24 : 1 << UInt64(width * 4)
            guard value >= smallest else {
                throw .nonCanonical(.dagCBOR, offset: start, reason: "integer or length not in its shortest form")
            }
            return value
        case CBORFormat.indefinite:
            throw .nonCanonical(.dagCBOR, offset: start, reason: "indefinite-length item")
        default:
            throw .malformed(.dagCBOR, offset: start, reason: "reserved additional information \(info)")
        }
    }

    private mutating func simple(_ info: UInt8, start: Int) throws(ArchiveCodecError) -> DAGCBOR {
        switch info {
        case CBORFormat.falseValue: return .bool(false)
        case CBORFormat.trueValue: return .bool(true)
        case CBORFormat.nullValue: return .null
        case CBORFormat.float64:
            var bits: UInt64 = 0
            for _ in 0..<8 { bits = bits << 8 | UInt64(try byte()) }
            let value = Double(bitPattern: bits)
            guard value.isFinite else {
                throw .unsupported(.dagCBOR, reason: "NaN or Infinity at offset \(start)")
            }
            return .float(value)
        case CBORFormat.float16, CBORFormat.float32:
            throw .nonCanonical(.dagCBOR, offset: start, reason: "float narrower than 64 bits")
        default:
            throw .unsupported(.dagCBOR, reason: "simple value \(info) at offset \(start)")
        }
    }

    private mutating func text(_ length: UInt64, start: Int) throws(ArchiveCodecError) -> String {
        let raw = try take(length, start: start)
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw .malformed(.dagCBOR, offset: start, reason: "text is not valid UTF-8")
        }
        return s
    }

    private mutating func array(count: UInt64, depth: Int, start: Int) throws(ArchiveCodecError) -> [DAGCBOR] {
        // Every item takes at least one byte, so a count beyond the bytes left is a lie.
        guard count <= UInt64(bytes.count - offset) else {
            throw .malformed(.dagCBOR, offset: start, reason: "array of \(count) items overruns the input")
        }
        var items: [DAGCBOR] = []
        items.reserveCapacity(Int(count))
        for _ in 0..<count { items.append(try item(depth: depth + 1)) }
        return items
    }

    private mutating func map(count: UInt64, depth: Int, start: Int) throws(ArchiveCodecError) -> [String: DAGCBOR] {
        guard count <= UInt64(bytes.count - offset) / 2 else {
            throw .malformed(.dagCBOR, offset: start, reason: "map of \(count) entries overruns the input")
        }
        var entries: [String: DAGCBOR] = [:]
        var previous: [UInt8]? = nil
        for _ in 0..<count {
            let keyStart = offset
            let initial = try byte()
            guard initial >> 5 == CBORFormat.text else {
                throw .malformed(.dagCBOR, offset: keyStart, reason: "map key is not a text string")
            }
            let key = try text(try head(initial & 0x1F, start: keyStart), start: keyStart)
            let keyBytes = Array(key.utf8)
            // Invariant: keys strictly ascend, which also rules out duplicates.
            if let previous, !CBORFormat.keyPrecedes(previous, keyBytes) {
                let why = previous == keyBytes ? "duplicate map key" : "map keys out of canonical order"
                throw .nonCanonical(.dagCBOR, offset: keyStart, reason: why)
            }
            previous = keyBytes
            entries[key] = try item(depth: depth + 1)
        }
        return entries
    }

    private mutating func link(tag: UInt64, start: Int) throws(ArchiveCodecError) -> DAGCBOR {
        guard tag == CBORFormat.cidTag else {
            throw .unsupported(.dagCBOR, reason: "tag \(tag) at offset \(start) (only 42 is allowed)")
        }
        let contentStart = offset
        let initial = try byte()
        guard initial >> 5 == CBORFormat.bytes else {
            throw .malformed(.dagCBOR, offset: contentStart, reason: "tag 42 content is not a byte string")
        }
        let content = try take(try head(initial & 0x1F, start: contentStart), start: contentStart)
        guard content.first == 0x00 else {
            throw .malformed(.dagCBOR, offset: contentStart, reason: "CID bytes lack the 0x00 multibase prefix")
        }
        do {
            return .link(try CID(bytes: content.dropFirst()))
        } catch {
            throw .malformed(.dagCBOR, offset: contentStart, reason: "tag 42 holds no valid CID: \(error)")
        }
    }

    private mutating func byte() throws(ArchiveCodecError) -> UInt8 {
        guard offset < bytes.count else {
            throw .malformed(.dagCBOR, offset: offset, reason: "input ends inside an item")
        }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func take(_ length: UInt64, start: Int) throws(ArchiveCodecError) -> [UInt8] {
        guard length <= UInt64(bytes.count - offset) else {
            throw .malformed(.dagCBOR, offset: start, reason: "length \(length) overruns the input")
        }
        defer { offset += Int(length) }
        return Array(bytes[offset..<offset + Int(length)])
    }
}
