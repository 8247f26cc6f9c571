/// The canonical DAG-CBOR encoder.
extension DAGCBOR {
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    public func encode(into out: inout [UInt8]) {
        switch self {
        case .unsigned(let n): Self.appendHead(CBORFormat.unsigned, n, to: &out)
        case .negative(let n): Self.appendHead(CBORFormat.negative, n, to: &out)
        case .bytes(let b):
            Self.appendHead(CBORFormat.bytes, UInt64(b.count), to: &out)
            out.append(contentsOf: b)
        case .text(let s):
            Self.appendHead(CBORFormat.text, UInt64(s.utf8.count), to: &out)
            out.append(contentsOf: s.utf8)
        case .array(let items):
            Self.appendHead(CBORFormat.array, UInt64(items.count), to: &out)
            for item in items { item.encode(into: &out) }
        case .map(let entries): Self.appendMap(entries, to: &out)
        case .bool(let b): out.append(0xE0 | (b ? CBORFormat.trueValue : CBORFormat.falseValue))
        case .null: out.append(0xE0 | CBORFormat.nullValue)
        case .float(let d):
            precondition(d.isFinite, "DAG-CBOR cannot encode NaN or Infinity")
            out.append(0xE0 | CBORFormat.float64)
            Self.appendBigEndian(d.bitPattern, bytes: 8, to: &out)
        case .link(let cid):
            Self.appendHead(CBORFormat.tag, CBORFormat.cidTag, to: &out)
            let cidBytes = cid.bytes
            Self.appendHead(CBORFormat.bytes, UInt64(cidBytes.count + 1), to: &out)
            out.append(0x00)
            out.append(contentsOf: cidBytes)
        }
    }

    private static func appendMap(_ entries: [String: DAGCBOR], to out: inout [UInt8]) {
        appendHead(CBORFormat.map, UInt64(entries.count), to: &out)
        let sorted = entries.map { (key: Array($0.key.utf8), value: $0.value) }
            .sorted { CBORFormat.keyPrecedes($0.key, $1.key) }
        for entry in sorted {
            appendHead(CBORFormat.text, UInt64(entry.key.count), to: &out)
            out.append(contentsOf: entry.key)
            entry.value.encode(into: &out)
        }
    }

    /// A major type with its argument in the shortest form: inline below 24, else 1, 2, 4 or
    /// 8 big-endian bytes after additional information 24-27.
    static func appendHead(_ major: UInt8, _ value: UInt64, to out: inout [UInt8]) {
        let type = major << 5
        switch value {
        case 0..<24: out.append(type | UInt8(value))
        case 24...0xFF: out.append(type | 24); appendBigEndian(value, bytes: 1, to: &out)
        case 0x100...0xFFFF: out.append(type | 25); appendBigEndian(value, bytes: 2, to: &out)
        case 0x1_0000...0xFFFF_FFFF: out.append(type | 26); appendBigEndian(value, bytes: 4, to: &out)
        default: out.append(type | 27); appendBigEndian(value, bytes: 8, to: &out)
        }
    }

    private static func appendBigEndian(_ value: UInt64, bytes: Int, to out: inout [UInt8]) {
        for i in stride(from: bytes - 1, through: 0, by: -1) {
            out.append(UInt8(truncatingIfNeeded: value >> UInt64(i * 8)))
        }
    }
}
