/// Base58btc (the Bitcoin alphabet), the text form of CIDv0 (`Qm…`). Quadratic, which is fine
/// for the 34-byte multihashes it is used on.
enum Base58 {
    private static let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        // Little-endian base-58 digits of the big-endian number `bytes`.
        var digits: [UInt8] = []
        for byte in bytes {
            var carry = Int(byte)
            for i in digits.indices {
                carry += Int(digits[i]) << 8
                digits[i] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 {
                digits.append(UInt8(carry % 58))
                carry /= 58
            }
        }
        let zeros = bytes.prefix { $0 == 0 }.count
        let text = repeatElement(alphabet[0], count: zeros) + digits.reversed().map { alphabet[Int($0)] }
        return String(decoding: text, as: UTF8.self)
    }

    static func decode(_ text: Substring) throws(ArchiveCodecError) -> [UInt8] {
        // Little-endian base-256 bytes of the number.
        var bytes: [UInt8] = []
        for (index, char) in text.utf8.enumerated() {
            guard let value = alphabet.firstIndex(of: char) else {
                throw .malformed(.cid, offset: index, reason: "character not in the base58btc alphabet")
            }
            var carry = value
            for i in bytes.indices {
                carry += Int(bytes[i]) * 58
                bytes[i] = UInt8(carry & 0xFF)
                carry >>= 8
            }
            while carry > 0 {
                bytes.append(UInt8(carry & 0xFF))
                carry >>= 8
            }
        }
        let zeros = text.utf8.prefix { $0 == alphabet[0] }.count
        return Array(repeating: 0, count: zeros) + bytes.reversed()
    }
}
