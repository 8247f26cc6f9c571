/// Writes compact JSON text as UTF-8 bytes: the one JSON encoder of hsdb (HTTP responses,
/// payloads shown by the CLI, `JSONValue.description`). Commas are placed by the writer:
/// call `key` then a value inside objects, values alone inside arrays.
public struct JSONTextWriter {
    public private(set) var bytes: [UInt8]
    /// True right after an opening bracket or a key: the next element takes no comma.
    private var atStart = true

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); atStart = true }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); atStart = false }
    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); atStart = true }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); atStart = false }

    public mutating func key(_ key: String) {
        separate()
        appendString(key)
        bytes.append(UInt8(ascii: ":"))
        atStart = true
    }

    public mutating func null() { element("null") }
    public mutating func bool(_ b: Bool) { element(b ? "true" : "false") }
    public mutating func int<I: BinaryInteger>(_ i: I) { element(String(i)) }
    /// Non-finite numbers have no JSON form and are written as null.
    public mutating func double(_ d: Double) { element(d.isFinite ? d.description : "null") }
    public mutating func float(_ f: Float) { element(f.isFinite ? f.description : "null") }
    public mutating func string(_ s: String) { separate(); appendString(s); atStart = false }

    public mutating func floats(_ values: [Float]) {
        beginArray()
        for v in values { float(v) }
        endArray()
    }

    /// Appends text that is already JSON (a value).
    public mutating func raw(_ json: String) { element(json) }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let b): bool(b)
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .array(let a):
            beginArray()
            for v in a { self.value(v) }
            endArray()
        case .object(let o): object(o)
        }
    }

    /// An object with its keys in ascending order, so equal objects give equal text.
    public mutating func object(_ o: [String: JSONValue]) {
        beginObject()
        for k in o.keys.sorted() {
            key(k)
            value(o[k]!)
        }
        endObject()
    }

    @inline(__always) private mutating func separate() {
        if !atStart { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func element(_ text: String) {
        separate()
        bytes.append(contentsOf: text.utf8)
        atStart = false
    }

    private mutating func appendString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
