import GRPCCore
import HSDBCore
import SwiftProtobuf

/// Small helpers between protobuf messages and the REST API's JSON values.
enum GRPCJSON {
    static func field(_ value: JSONValue, _ key: String) -> JSONValue? {
        guard case .object(let o) = value else { return nil }
        return o[key]
    }

    static func array(_ value: JSONValue, _ key: String) -> [JSONValue] {
        if case .array(let a)? = field(value, key) { return a }
        return []
    }

    static func uint(_ value: JSONValue?) -> UInt64? {
        switch value {
        case .int(let n)? where n >= 0: UInt64(n)
        case .double(let d)? where d >= 0 && d == d.rounded(): UInt64(d)
        default: nil
        }
    }

    /// Whether `v` holds arrays or objects nested more than `levels` deep.
    static func nests(_ v: JSONValue, deeperThan levels: Int) -> Bool {
        switch v {
        case .array(let a): levels < 1 || a.contains { nests($0, deeperThan: levels - 1) }
        case .object(let o): levels < 1 || o.values.contains { nests($0, deeperThan: levels - 1) }
        default: false
        }
    }

    static func double(_ value: JSONValue?) -> Double? {
        switch value {
        case .int(let n)?: Double(n)
        case .double(let d)?: d
        default: nil
        }
    }

    /// A message carrying fields this server's contract does not declare (a setting it does
    /// not support) is refused rather than half applied.
    static func refuseUnknownFields(_ message: some SwiftProtobuf.Message, _ what: String? = nil) throws {
        guard !message.unknownFields.data.isEmpty else { return }
        let name = what ?? String(describing: type(of: message)).replacingOccurrences(of: "Qdrant_", with: "")
        throw RPCError(code: .invalidArgument, message: "Bad request: \(name) sets a field hsdb does not support")
    }

    /// A settings message (quantization, strict mode, index parameters) in the REST API's
    /// shape, by protobuf's own JSON mapping: field names as declared, 64-bit numbers (which
    /// that mapping writes as text) as numbers, enum names in REST's snake case (`OneBit` as
    /// `one_bit`). These messages carry no text fields of their own that could be mistaken.
    static func restShape(_ message: some SwiftProtobuf.Message) throws -> JSONValue {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        return rest(try JSONParser.parse(try message.jsonString(options: options)))
    }

    private static func rest(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o): return .object(o.mapValues(rest))
        case .array(let a): return .array(a.map(rest))
        case .string(let s):
            if let n = Int64(s) { return .int(n) }
            return .string(snakeCase(s))
        default: return v
        }
    }

    static func snakeCase(_ s: String) -> String {
        var out = ""
        for (i, c) in s.enumerated() {
            if c.isUppercase, i > 0 { out.append("_") }
            out.append(contentsOf: c.lowercased())
        }
        return out
    }

    /// The reverse of `restShape`: REST's settings object as the message, or nil when it
    /// does not decode (the reply then leaves the field out). Enum names back in protobuf's
    /// case (`one_bit` as `OneBit`; a compression ratio such as `x16` is already its name).
    static func message<M: SwiftProtobuf.Message>(_ type: M.Type, from value: JSONValue?) -> M? {
        guard let value, value != .null else { return nil }
        var w = JSONTextWriter()
        w.value(protoEnums(value))
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        return try? M(jsonUTF8Bytes: w.bytes, options: options)
    }

    private static func protoEnums(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o): return .object(o.mapValues(protoEnums))
        case .array(let a): return .array(a.map(protoEnums))
        case .string(let s) where s.first != "x":
            return .string(s.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined())
        default: return v
        }
    }
}
