import HSDBCore

/// Arbitrary bytes into the payload decoder. Properties: decoding never crashes or allocates
/// beyond the input's size; whatever decodes re-encodes to a canonical form that decodes to
/// the same value and re-encodes to the same bytes.
enum PayloadCodecTarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        var reader = ByteReader(data)
        guard let payload = try? PayloadCodec.decodePayload(&reader) else { return }
        let canonical = PayloadCodec.encode(payload)
        guard let again = try? PayloadCodec.decodePayload(canonical) else {
            fatalError("payload-codec: the canonical encoding of a decoded payload does not decode")
        }
        precondition(JSONValue.object(again).sameValue(as: .object(payload)), "payload-codec: round trip changed the value")
        precondition(PayloadCodec.encode(again) == canonical, "payload-codec: canonical encoding is not stable")
    }
}

extension JSONValue {
    /// Equality that treats NaN as equal to NaN (the codec round-trips bit patterns).
    func sameValue(as other: JSONValue) -> Bool {
        switch (self, other) {
        case (.double(let a), .double(let b)): return a.bitPattern == b.bitPattern
        case (.array(let a), .array(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.sameValue(as: $1) }
        case (.object(let a), .object(let b)):
            return a.count == b.count && a.allSatisfy { key, value in b[key].map { value.sameValue(as: $0) } ?? false }
        default: return self == other
        }
    }
}
