import Crypto
import HSDB

/// The running hash of a log: h(n) = SHA-256(h(n-1) | LSN u64 | type u8 | body length u32 |
/// body), integers little-endian, over every record that takes an LSN (operations and close
/// markers; not clock records, which each log writes for itself). Two logs with the same
/// hash at an LSN hold the same records up to it, so (LSN, hash) is a position that proves
/// a follower is a prefix of its leader, and a mismatch is divergence. DESIGN.md, "Replication".
public struct LogHash: Sendable, Hashable, CustomStringConvertible {
    public static let byteCount = 32
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount)
        self.bytes = bytes
    }

    /// The hash before the first record of a log (LSN 0): 32 zero bytes.
    public static let origin = LogHash(bytes: [UInt8](repeating: 0, count: byteCount))

    /// The hash after `entry`, this being the hash before it.
    public func next(_ entry: WALEntry) -> LogHash {
        var sha = SHA256()
        sha.update(data: bytes)
        var header = [UInt8](repeating: 0, count: 13)
        withUnsafeBytes(of: entry.lsn.littleEndian) { header.replaceSubrange(0..<8, with: $0) }
        header[8] = entry.type.rawValue
        withUnsafeBytes(of: UInt32(entry.body.count).littleEndian) { header.replaceSubrange(9..<13, with: $0) }
        sha.update(data: header)
        sha.update(data: entry.body)
        return LogHash(bytes: Array(sha.finalize()))
    }

    /// Lowercase hex, as positions travel in URLs.
    public var hex: String { bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }

    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 2 * Self.byteCount else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(Self.byteCount)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let b = UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            out.append(b)
        }
        bytes = out
    }

    public var description: String { String(hex.prefix(16)) }
}
