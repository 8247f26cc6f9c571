import CCRC32C

/// CRC-32C (Castagnoli), the checksum of every hsdb file format. Hardware-accelerated where the
/// CPU has SSE4.2 (chosen at run time, so one binary runs everywhere).
public enum CRC32C {
    /// The checksum of `bytes`, continuing from `seed` (the checksum of the bytes before them).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return seed }
        return hsdb_crc32c(seed, base, bytes.count)
    }

    @inlinable
    public static func checksum(_ bytes: [UInt8], continuing seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: seed) }
    }

    /// Whether the SSE4.2 path is in use.
    public static var isHardwareAccelerated: Bool { hsdb_crc32c_hardware() != 0 }

    /// Stored checksums are masked (as LevelDB does) so that a CRC computed over bytes that
    /// themselves contain CRCs does not degenerate. Frozen: part of every on-disk format.
    @inlinable
    public static func mask(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    @inlinable
    public static func unmask(_ masked: UInt32) -> UInt32 {
        let rotated = masked &- 0xA282_EAD8
        return (rotated >> 17) | (rotated << 15)
    }
}
