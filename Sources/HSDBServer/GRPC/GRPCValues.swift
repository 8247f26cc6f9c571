import Foundation
import GRPCCore
import HSDBCore
import QdrantAPI
import SwiftProtobuf

/// Payload values and point ids between Qdrant's messages and the REST API's JSON.
enum GRPCValues {
    static func json(_ v: Qdrant_Value) -> JSONValue {
        switch v.kind {
        case .nullValue?, nil: .null
        case .doubleValue(let d)?: .double(d)
        case .integerValue(let n)?: .int(n)
        case .stringValue(let s)?: .string(s)
        case .boolValue(let b)?: .bool(b)
        case .structValue(let s)?: json(s.fields)
        case .listValue(let l)?: .array(l.values.map(json))
        }
    }

    static func json(_ fields: [String: Qdrant_Value]) -> JSONValue {
        .object(fields.mapValues(json))
    }

    static func value(_ j: JSONValue) -> Qdrant_Value {
        var v = Qdrant_Value()
        switch j {
        case .null: v.nullValue = .nullValue
        case .bool(let b): v.boolValue = b
        case .int(let n): v.integerValue = n
        case .double(let d): v.doubleValue = d
        case .string(let s): v.stringValue = s
        case .array(let a): v.listValue = .with { $0.values = a.map(value) }
        case .object(let o): v.structValue = .with { $0.fields = o.mapValues(value) }
        }
        return v
    }

    /// A payload (a JSON object) as a message's `map<string, Value>`.
    static func payload(_ j: JSONValue?) -> [String: Qdrant_Value] {
        guard case .object(let o)? = j else { return [:] }
        return o.mapValues(value)
    }

    static func id(_ p: Qdrant_PointId) throws -> JSONValue {
        switch p.pointIDOptions {
        case .num(let n)?:
            guard let i = Int64(exactly: n) else { throw invalid("point id \(n) is beyond 2^63 - 1") }
            return .int(i)
        case .uuid(let s)?: return .string(s)
        case nil: throw invalid("a point id sets neither `num` nor `uuid`")
        }
    }

    static func ids(_ list: [Qdrant_PointId]) throws -> JSONValue { .array(try list.map(id)) }

    static func pointID(_ j: JSONValue?) -> Qdrant_PointId {
        var p = Qdrant_PointId()
        switch j {
        case .int(let n)?: p.num = UInt64(clamping: n)
        case .double(let d)?: p.num = UInt64(d)
        case .string(let s)?: p.uuid = s
        default: break
        }
        return p
    }

    /// RFC 3339 text of a protobuf timestamp, as the REST API reads datetimes.
    static func datetime(_ t: Google_Protobuf_Timestamp) -> JSONValue {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return .string(f.string(from: Date(timeIntervalSince1970: TimeInterval(t.seconds) + TimeInterval(t.nanos) / 1e9)))
    }

    static func invalid(_ message: String) -> RPCError {
        RPCError(code: .invalidArgument, message: "Bad request: \(message)")
    }
}
