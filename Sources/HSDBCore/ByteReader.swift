/// Reads what ByteWriter wrote, with every read bounds-checked: sizes read from disk are
/// untrusted, so a short or lying input throws `FormatError` instead of trapping.
///
/// REQUIRES: the buffer outlives the reader (it does not own the bytes).
public struct ByteReader {
    public let buffer: UnsafeRawBufferPointer
    public private(set) var offset: Int

    public init(_ buffer: UnsafeRawBufferPointer, offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }

    public var remaining: Int { buffer.count - offset }
    public var isAtEnd: Bool { offset >= buffer.count }

    @inline(__always)
    private func require(_ n: Int) throws(FormatError) {
        guard n >= 0, n <= buffer.count - offset else {
            throw FormatError.truncated(offset: offset, needed: n, available: buffer.count - offset)
        }
    }

    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(FormatError) -> T {
        try require(MemoryLayout<T>.size)
        let v = buffer.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    public mutating func readFloat() throws(FormatError) -> Float { Float(bitPattern: try read(UInt32.self)) }
    public mutating func readDouble() throws(FormatError) -> Double { Double(bitPattern: try read(UInt64.self)) }

    public mutating func readVarint() throws(FormatError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte: UInt8 = try read()
            if shift == 63, byte > 1 { throw FormatError.invalid(offset: offset - 1, reason: "varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw FormatError.invalid(offset: offset - 1, reason: "varint longer than 10 bytes") }
        }
    }

    /// A view of the next `n` bytes; valid as long as the underlying buffer is.
    public mutating func readBytes(_ n: Int) throws(FormatError) -> UnsafeRawBufferPointer {
        try require(n)
        let slice = UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + n])
        offset += n
        return slice
    }

    public mutating func readLengthPrefixed(maxLength: Int) throws(FormatError) -> UnsafeRawBufferPointer {
        let start = offset
        let n = try readVarint()
        guard n <= UInt64(maxLength) else {
            throw FormatError.invalid(offset: start, reason: "length \(n) exceeds the limit of \(maxLength)")
        }
        return try readBytes(Int(n))
    }

    public mutating func readString(maxLength: Int) throws(FormatError) -> String {
        let start = offset
        let raw = try readLengthPrefixed(maxLength: maxLength)
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw FormatError.invalid(offset: start, reason: "string is not valid UTF-8")
        }
        return s
    }

    public mutating func readFloats(count n: Int) throws(FormatError) -> [Float] {
        guard n >= 0, n <= (buffer.count - offset) / 4 else {
            throw FormatError.truncated(offset: offset, needed: n &* 4, available: buffer.count - offset)
        }
        let raw = try readBytes(n * 4)
        return [Float](unsafeUninitializedCapacity: n) { out, initialised in
            #if _endian(little)
            UnsafeMutableRawBufferPointer(out).copyMemory(from: raw)
            #else
            for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
            #endif
            initialised = n
        }
    }

    public mutating func skip(_ n: Int) throws(FormatError) {
        try require(n)
        offset += n
    }
}

/// A structural problem in bytes being decoded. Callers that know the file add its name and
/// the absolute offset (see `CorruptionError`).
public enum FormatError: Error, Equatable, CustomStringConvertible {
    case truncated(offset: Int, needed: Int, available: Int)
    case invalid(offset: Int, reason: String)

    public var offset: Int {
        switch self {
        case .truncated(let o, _, _), .invalid(let o, _): return o
        }
    }

    public var description: String {
        switch self {
        case .truncated(let o, let need, let have): return "truncated at offset \(o): needed \(need) bytes, \(have) left"
        case .invalid(let o, let reason): return "invalid at offset \(o): \(reason)"
        }
    }
}
