import Foundation
import HSDBCore

/// Checks a request body as it will be sent: etcd's gateway drops fields it does not know
/// without a word, so a body that names one, or leaves out what its call needs, never leaves
/// hsdb. The schema is etcd's v3 protobuf field names (api/etcdserverpb/rpc.proto) for the
/// messages hsdb sends.
enum EtcdRequestCheck {
    indirect enum Shape: Sendable {
        case scalar
        case object([String: Shape], required: Set<String>)
        case array(Shape)
    }

    static let keyed: Set<String> = ["key"]
    static let range = Shape.object(["key": .scalar, "range_end": .scalar], required: keyed)
    static let put = Shape.object(["key": .scalar, "value": .scalar, "lease": .scalar], required: keyed)
    static let compare = Shape.object(
        ["key": .scalar, "target": .scalar, "result": .scalar, "create_revision": .scalar, "mod_revision": .scalar,
         "value": .scalar, "lease": .scalar], required: ["key", "target", "result"])
    static let operation = Shape.object(
        ["request_range": range, "request_put": put, "request_delete_range": range], required: [])
    static let txn = Shape.object(
        ["compare": .array(compare), "success": .array(operation), "failure": .array(operation)], required: ["compare"])
    static let leaseGrant = Shape.object(["TTL": .scalar], required: ["TTL"])
    static let leaseID = Shape.object(["ID": .scalar], required: ["ID"])
    static let watch = Shape.object(
        ["create_request": .object(["key": .scalar, "start_revision": .scalar], required: keyed)], required: ["create_request"])

    /// Throws naming the first field the shape does not allow or misses.
    static func check(_ body: [UInt8], against shape: Shape, call: String) throws(EtcdError) {
        let value: JSONValue
        do { value = try JSONParser.parse(body) } catch { throw .badRequest(call: call, reason: "not JSON: \(error)") }
        try check(value, shape, path: "", call: call)
    }

    private static func check(_ value: JSONValue, _ shape: Shape, path: String, call: String) throws(EtcdError) {
        switch (shape, value) {
        case (.scalar, .string), (.scalar, .int), (.scalar, .bool): return
        case (.array(let item), .array(let items)):
            for (i, element) in items.enumerated() { try check(element, item, path: "\(path)[\(i)]", call: call) }
        case (.object(let fields, let required), .object(let members)):
            let within = path.isEmpty ? "" : path + "."
            for (name, member) in members {
                guard let inner = fields[name] else {
                    throw .badRequest(call: call, reason: "field '\(within)\(name)' is not in etcd's message")
                }
                try check(member, inner, path: within + name, call: call)
            }
            for name in required.sorted() where members[name] == nil {
                throw .badRequest(call: call, reason: "field '\(within)\(name)' is required")
            }
        default:
            throw .badRequest(call: call, reason: "'\(path.isEmpty ? "(body)" : path)' has the wrong type")
        }
    }
}
