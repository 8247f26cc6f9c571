/// The binary encoding of JSON values, used wherever hsdb stores a payload (WAL records,
/// segment payload blocks, snapshots). DESIGN.md, "Payload encoding". Frozen tags:
///
///     0 null | 1 false | 2 true | 3 int (zigzag varint) | 4 double (8 bytes LE)
///     5 string (varint length, UTF-8) | 6 array (varint count, values)
///     7 object (varint count, then key string + value, keys in ascending UTF-8 byte order)
///
/// Objects are written with sorted keys, so equal payloads encode to equal bytes.
public enum PayloadCodec {
    public enum Tag: UInt8 {
        case null = 0, falseValue = 1, trueValue = 2, int = 3, double = 4, string = 5, array = 6, object = 7
    }

    /// Nesting deeper than this is refused when decoding (and validated before encoding), so
    /// hostile bytes cannot exhaust the stack.
    public static let maxDepth = 64

    public static func encode(_ payload: Payload, into writer: inout ByteWriter) {
        encode(.object(payload), into: &writer)
    }

    public static func encode(_ value: JSONValue, into w: inout ByteWriter) {
        switch value {
        case .null: w.write(Tag.null.rawValue)
        case .bool(let b): w.write(b ? Tag.trueValue.rawValue : Tag.falseValue.rawValue)
        case .int(let i):
            w.write(Tag.int.rawValue)
            w.writeVarint(UInt64(bitPattern: (i << 1) ^ (i >> 63)))
        case .double(let d):
            w.write(Tag.double.rawValue)
            w.write(d)
        case .string(let s):
            w.write(Tag.string.rawValue)
            w.writeString(s)
        case .array(let a):
            w.write(Tag.array.rawValue)
            w.writeVarint(UInt64(a.count))
            for v in a { encode(v, into: &w) }
        case .object(let o):
            w.write(Tag.object.rawValue)
            w.writeVarint(UInt64(o.count))
            for key in o.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                w.writeString(key)
                encode(o[key]!, into: &w)
            }
        }
    }

    public static func encode(_ payload: Payload) -> [UInt8] {
        var w = ByteWriter()
        encode(payload, into: &w)
        return w.bytes
    }

    /// Decodes one value. Throws on unknown tags, bad UTF-8, truncation, nesting over
    /// `maxDepth`, or counts larger than the bytes left could hold.
    public static func decodeValue(_ r: inout ByteReader, depth: Int = 0) throws(FormatError) -> JSONValue {
        let start = r.offset
        let raw: UInt8 = try r.read()
        guard let tag = Tag(rawValue: raw) else { throw FormatError.invalid(offset: start, reason: "unknown payload tag \(raw)") }
        switch tag {
        case .null: return .null
        case .falseValue: return .bool(false)
        case .trueValue: return .bool(true)
        case .int:
            let z = try r.readVarint()
            return .int(Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1))))
        case .double: return .double(try r.readDouble())
        case .string: return .string(try r.readString(maxLength: r.remaining))
        case .array, .object:
            guard depth < maxDepth else { throw FormatError.invalid(offset: start, reason: "payload nests deeper than \(maxDepth)") }
            let count = try r.readVarint()
            guard count <= UInt64(r.remaining) else {  // every element takes at least one byte
                throw FormatError.invalid(offset: start, reason: "element count \(count) exceeds the bytes left")
            }
            if tag == .array {
                var a: [JSONValue] = []
                a.reserveCapacity(Int(count))
                for _ in 0..<count { a.append(try decodeValue(&r, depth: depth + 1)) }
                return .array(a)
            }
            var o: [String: JSONValue] = [:]
            o.reserveCapacity(Int(count))
            for _ in 0..<count {
                let key = try r.readString(maxLength: r.remaining)
                o[key] = try decodeValue(&r, depth: depth + 1)
            }
            return .object(o)
        }
    }

    /// Decodes a payload (an object).
    public static func decodePayload(_ r: inout ByteReader) throws(FormatError) -> Payload {
        let start = r.offset
        guard case .object(let o) = try decodeValue(&r) else {
            throw FormatError.invalid(offset: start, reason: "payload is not an object")
        }
        return o
    }

    public static func decodePayload(_ bytes: [UInt8]) throws(FormatError) -> Payload {
        let result = bytes.withUnsafeBytes { raw -> Result<Payload, FormatError> in
            var r = ByteReader(raw)
            do throws(FormatError) {
                let p = try decodePayload(&r)
                guard r.isAtEnd else { throw FormatError.invalid(offset: r.offset, reason: "trailing bytes after payload") }
                return .success(p)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
