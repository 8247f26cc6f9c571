/// Appends little-endian fixed-width integers, floats and length-prefixed bytes to a growing
/// buffer. The one encoder every hsdb format uses (WAL records, payloads, manifests, metadata).
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Float) { write(value.bitPattern) }
    public mutating func write(_ value: Double) { write(value.bitPattern) }

    public mutating func write(bytes other: some Sequence<UInt8>) { bytes.append(contentsOf: other) }

    public mutating func write(raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    /// Floats as consecutive little-endian IEEE 754 binary32 values.
    public mutating func write(floats: [Float]) {
        #if _endian(little)
        floats.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for f in floats { write(f) }
        #endif
    }

    /// LEB128 unsigned varint: 7 bits per byte, low group first, high bit = more follows.
    public mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// A varint length followed by that many bytes.
    public mutating func writeLengthPrefixed(_ other: some Collection<UInt8>) {
        writeVarint(UInt64(other.count))
        bytes.append(contentsOf: other)
    }

    public mutating func writeString(_ s: String) {
        writeLengthPrefixed(Array(s.utf8))
    }

    public mutating func append(zeros n: Int) { bytes.append(contentsOf: repeatElement(0, count: n)) }

    /// Overwrites a previously written little-endian integer (for back-patched lengths and CRCs).
    public mutating func patch<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { src in
            for i in 0..<src.count { bytes[offset + i] = src[i] }
        }
    }
}
