/// RFC 4648 base32, lower-case alphabet, no padding: the multibase `b` encoding of CIDv1 text.
enum Base32 {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[Int((buffer >> UInt32(bits)) & 0x1F)])
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 0x1F)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Refuses characters outside the lower-case alphabet, padding, and a final character whose
    /// unused low bits are not zero (which would give one byte string two spellings).
    static func decode(_ text: Substring) throws(ArchiveCodecError) -> [UInt8] {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for (index, char) in text.utf8.enumerated() {
            guard let value = digit(char) else {
                throw .malformed(.base32, offset: index, reason: "character not in the base32 alphabet")
            }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        // Only 0-4 left-over bits (one partial character) are possible in unpadded base32.
        guard bits < 5, buffer & ((1 << UInt32(bits)) - 1) == 0 else {
            throw .nonCanonical(.base32, offset: text.utf8.count, reason: "trailing bits are not zero")
        }
        return out
    }

    private static func digit(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return char - UInt8(ascii: "a")
        case UInt8(ascii: "2")...UInt8(ascii: "7"): return char - UInt8(ascii: "2") + 26
        default: return nil
        }
    }
}
