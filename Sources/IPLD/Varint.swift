/// The multiformats unsigned varint (unsigned LEB128: 7 bits per byte, low group first, high
/// bit set when more bytes follow), used by CIDs, multihashes, CAR lengths and the protobuf
/// fields of DAG-PB and UnixFS.
///
/// Stricter than HSDBCore's `ByteReader.readVarint` on purpose: the multiformats spec allows
/// only the minimal encoding and at most 9 bytes (63 bits), and a content-addressed format
/// must have one encoding per value, or two byte strings would name the same thing.
public enum Varint {
    /// The longest varint the multiformats spec allows: 9 bytes carry 63 bits.
    public static let maxBytes = 9
    /// The largest value that fits in `maxBytes`.
    public static let maxValue: UInt64 = (1 << 63) - 1

    /// Appends the minimal encoding of `value`. REQUIRES: value <= maxValue.
    public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        precondition(value <= maxValue, "varint value \(value) exceeds 63 bits")
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public static func encode(_ value: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        append(value, to: &bytes)
        return bytes
    }

    /// The encoded size of `value` in bytes.
    public static func size(of value: UInt64) -> Int {
        var n = 1
        var v = value >> 7
        while v != 0 { n += 1; v >>= 7 }
        return n
    }

    /// Decodes one varint starting at `offset` and moves `offset` past it. Refuses a varint
    /// cut short by the end of `bytes`, longer than 9 bytes, or not minimal (a last byte of 0
    /// after the first).
    public static func read(
        _ bytes: some RandomAccessCollection<UInt8>, at offset: inout Int
    ) throws(ArchiveCodecError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = bytes.index(bytes.startIndex, offsetBy: offset)
        for count in 1...maxBytes {
            guard index != bytes.endIndex else {
                throw .malformed(.varint, offset: start, reason: "ends after \(count - 1) bytes")
            }
            let byte = bytes[index]
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                // A zero final group after the first byte means a shorter encoding existed.
                if byte == 0, count > 1 {
                    throw .nonCanonical(.varint, offset: start, reason: "not minimally encoded")
                }
                offset = start + count
                return result
            }
            shift += 7
            index = bytes.index(after: index)
        }
        throw .malformed(.varint, offset: start, reason: "longer than \(maxBytes) bytes")
    }
}
