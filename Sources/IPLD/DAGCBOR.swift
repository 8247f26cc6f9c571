/// A DAG-CBOR value: the IPLD data model subset of CBOR that hsdb's manifests and the CAR
/// header use. DAG-CBOR has one encoding per value (DESIGN.md, "Backup archive"): map keys
/// are text sorted length-first then bytewise, integers and lengths take their shortest form,
/// no indefinite lengths, the only tag is 42 (a CID), floats are always 64-bit and finite.
///
/// Floats: supported as 64-bit only, because that is the one form DAG-CBOR allows; 16- and
/// 32-bit floats, NaN and ±Infinity are refused on read, and NaN/Infinity may not be encoded.
/// Vectors do not belong here: they go in raw blocks (4 bytes a float instead of 9).
public indirect enum DAGCBOR: Hashable, Sendable {
    case unsigned(UInt64)
    /// The integer -1 - n, as CBOR major type 1 stores it (so -1 is `.negative(0)`).
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([DAGCBOR])
    /// Keys are unique by construction; the encoder puts them in canonical order.
    case map([String: DAGCBOR])
    case bool(Bool)
    case null
    /// REQUIRES (to encode): finite.
    case float(Double)
    case link(CID)

    /// An integer in whichever of the two CBOR major types holds it.
    public static func int(_ value: Int64) -> DAGCBOR {
        value >= 0 ? .unsigned(UInt64(value)) : .negative(UInt64(-(value + 1)))
    }

    public subscript(key: String) -> DAGCBOR? {
        if case .map(let entries) = self { return entries[key] }
        return nil
    }
}

/// The CBOR numbers the DAG-CBOR codec writes and checks (RFC 8949, section 3).
enum CBORFormat {
    /// Major types, the top 3 bits of an item's first byte.
    static let unsigned: UInt8 = 0, negative: UInt8 = 1, bytes: UInt8 = 2, text: UInt8 = 3
    static let array: UInt8 = 4, map: UInt8 = 5, tag: UInt8 = 6, simple: UInt8 = 7
    /// Additional-information values of major type 7.
    static let falseValue: UInt8 = 20, trueValue: UInt8 = 21, nullValue: UInt8 = 22
    static let undefinedValue: UInt8 = 23
    static let float16: UInt8 = 25, float32: UInt8 = 26, float64: UInt8 = 27
    static let indefinite: UInt8 = 31
    /// The IPLD tag for a CID; its content is a byte string of 0x00 (the multibase identity
    /// prefix) followed by the binary CID.
    static let cidTag: UInt64 = 42
    /// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
    static let maxDepth = 64

    /// Canonical key order: shorter UTF-8 first, then bytewise.
    static func keyPrecedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count != b.count ? a.count < b.count : a.lexicographicallyPrecedes(b)
    }
}
