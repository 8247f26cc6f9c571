/// The few protobuf wire-format pieces DAG-PB and UnixFS Data need: a key is
/// varint(field << 3 | wire type), a varint field is key ‖ varint, a length-delimited field
/// is key ‖ varint(length) ‖ bytes. Fields are written in the order the callers choose.
enum Protobuf {
    static let varintWireType: UInt8 = 0
    static let lengthDelimitedWireType: UInt8 = 2

    static func appendVarintField(_ field: UInt64, _ value: UInt64, to out: inout [UInt8]) {
        Varint.append(field << 3 | UInt64(varintWireType), to: &out)
        Varint.append(value, to: &out)
    }

    static func appendBytesField(_ field: UInt64, _ value: some Collection<UInt8>, to out: inout [UInt8]) {
        Varint.append(field << 3 | UInt64(lengthDelimitedWireType), to: &out)
        Varint.append(UInt64(value.count), to: &out)
        out.append(contentsOf: value)
    }

    /// The field number and wire type of the key at `offset`.
    static func readKey(
        _ bytes: ArraySlice<UInt8>, at offset: inout Int
    ) throws(ArchiveCodecError) -> (field: UInt64, wireType: UInt8) {
        let key = try Varint.read(bytes, at: &offset)
        return (key >> 3, UInt8(key & 7))
    }

    /// The bytes of a length-delimited field whose key was just read.
    static func readBytes(
        _ bytes: ArraySlice<UInt8>, at offset: inout Int, format: ArchiveFormat
    ) throws(ArchiveCodecError) -> ArraySlice<UInt8> {
        let start = offset
        let length = try Varint.read(bytes, at: &offset)
        guard length <= UInt64(bytes.count - offset) else {
            throw .malformed(format, offset: start, reason: "field length \(length) overruns the input")
        }
        let from = bytes.startIndex + offset
        offset += Int(length)
        return bytes[from..<from + Int(length)]
    }
}
