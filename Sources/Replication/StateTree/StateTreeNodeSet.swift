import HSDBCore

/// A set of one level's nodes as a bitmap in hex, for a URL: node i is bit 7 - i % 8 of byte
/// i / 8 (most significant first), the level's 16^level bits rounded up to whole bytes.
public enum StateTreeNodeSet {
    public static func encode(_ nodes: [Int], level: Int) -> String {
        var bytes = [UInt8](repeating: 0, count: max(1, (nodeCount(level) + 7) / 8))
        for n in nodes { bytes[n / 8] |= 0x80 >> UInt8(n % 8) }
        return bytes.lowercaseHex
    }

    /// The nodes `text` names, or nil when it is not a bitmap of that level.
    public static func decode(_ text: String, level: Int) -> [Int]? {
        let count = nodeCount(level)
        let chars = Array(text.utf8)
        guard chars.count == 2 * max(1, (count + 7) / 8) else { return nil }
        var nodes: [Int] = []
        for i in 0..<(chars.count / 2) {
            guard let hi = nibble(chars[2 * i]), let lo = nibble(chars[2 * i + 1]) else { return nil }
            let byte = hi << 4 | lo
            for bit in 0..<8 where byte & (0x80 >> UInt8(bit)) != 0 {
                let n = 8 * i + bit
                guard n < count else { return nil }
                nodes.append(n)
            }
        }
        return nodes
    }

    static func nodeCount(_ level: Int) -> Int { 1 << (4 * level) }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
