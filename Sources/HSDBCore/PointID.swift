import Foundation

/// A point's id: an unsigned 64-bit integer or a UUID, as Qdrant's. Ordered as Qdrant orders
/// them for scroll: every integer id before every UUID; integers numerically, UUIDs by bytes.
public enum PointID: Hashable, Sendable, Comparable, CustomStringConvertible {
    case integer(UInt64)
    case uuid(UUID)

    public static func < (a: PointID, b: PointID) -> Bool {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return x < y
        case (.integer, .uuid): return true
        case (.uuid, .integer): return false
        case (.uuid(let x), .uuid(let y)): return x.uuidBytesLexicographicallyPrecede(y)
        }
    }

    /// Integers in decimal; UUIDs lowercase and hyphenated.
    public var description: String {
        switch self {
        case .integer(let n): return String(n)
        case .uuid(let u): return u.uuidString.lowercased()
        }
    }

    /// Parses a UUID in any of the forms Qdrant accepts: hyphenated, 32 hex digits without
    /// hyphens, in braces, or as a `urn:uuid:` URN. Case-insensitive.
    public init?(uuidString text: String) {
        var s = Substring(text)
        if s.count >= 9, s.prefix(9).lowercased() == "urn:uuid:" { s = s.dropFirst(9) }
        if s.first == "{" && s.last == "}" { s = s.dropFirst().dropLast() }
        let hex: Substring
        if s.count == 36 {
            let dashes = [8, 13, 18, 23]
            for (i, c) in s.enumerated() where dashes.contains(i) != (c == "-") { return nil }
            hex = Substring(s.filter { $0 != "-" })
        } else if s.count == 32 {
            hex = s
        } else {
            return nil
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(16)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let b = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(b)
            index = next
        }
        let uuid = bytes.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) }
        self = .uuid(UUID(uuid: uuid))
    }
}

extension PointID: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: UInt64) { self = .integer(value) }
}

extension UUID {
    public func uuidBytesLexicographicallyPrecede(_ other: UUID) -> Bool {
        withUnsafeBytes(of: uuid) { a in withUnsafeBytes(of: other.uuid) { b in a.lexicographicallyPrecedes(b) } }
    }
}
