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
}
