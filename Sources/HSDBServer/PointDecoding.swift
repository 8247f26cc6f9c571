import HSDB
import HSDBCore

/// Point ids, vectors and points as the Qdrant API writes them.
enum PointDecoding {
    /// An unsigned integer, or a UUID string in any form Qdrant accepts (hyphenated, 32 hex
    /// digits, braced, `urn:uuid:`). Integers above 2^63-1 are refused: hsdb keeps JSON
    /// integers as signed 64-bit values (DESIGN.md, "HTTP API").
    static func id(_ value: JSONValue, path: String) throws -> PointID {
        switch value {
        case .int(let i) where i >= 0: return .integer(UInt64(i))
        case .string(let s):
            guard let id = PointID(uuidString: s) else {
                throw APIError.format("\(path): '\(s.prefix(64))' is not a valid point id: expected an unsigned integer or a UUID")
            }
            return id
        case .double(let d) where d >= 9.223372036854775807e18 && d == d.rounded():
            throw APIError.format("\(path): integer point ids above 9223372036854775807 are not supported")
        default:
            throw APIError.format("\(path): expected an unsigned integer or a UUID string as point id, got \(value.kindName)")
        }
    }

    static func ids(_ value: JSONValue, path: String, limit: Int) throws -> [PointID] {
        guard case .array(let a) = value else { throw JSONFields.typeError(path, "an array of point ids", value) }
        guard a.count <= limit else { throw APIError.wrongInput("\(path) holds \(a.count) ids; the limit is \(limit) per request") }
        var ids: [PointID] = []
        ids.reserveCapacity(a.count)
        for (i, v) in a.enumerated() { ids.append(try id(v, path: "\(path)[\(i)]")) }
        return ids
    }

    /// A dense vector: an array of numbers, each representable as a 32-bit float.
    static func dense(_ value: JSONValue, path: String) throws -> [Float] {
        guard case .array(let a) = value else { throw JSONFields.typeError(path, "an array of numbers", value) }
        var vector = [Float]()
        vector.reserveCapacity(a.count)
        for (i, v) in a.enumerated() {
            switch v {
            case .double(let d):
                let f = Float(d)
                guard f.isFinite else { throw APIError.format("\(path)[\(i)]: \(d) overflows a 32-bit float") }
                vector.append(f)
            case .int(let n): vector.append(Float(n))
            case .array: throw APIError.unsupported("\(path): multivectors")
            default: throw JSONFields.typeError("\(path)[\(i)]", "a number", v)
            }
        }
        return vector
    }

    static func payload(_ value: JSONValue?, path: String) throws -> Payload {
        guard let value, value != .null else { return [:] }
        guard case .object(let o) = value else { throw JSONFields.typeError(path, "an object (or null) as payload", value) }
        return o
    }

    /// `update_mode` ("upsert", "insert_only", "update_only") and `update_filter` of an upsert body.
    static func upsertConditions(_ body: JSONFields) throws -> (UpsertMode, Filter?) {
        let mode: UpsertMode
        switch try body.string("update_mode") {
        case nil, "upsert": mode = .upsert
        case "insert_only": mode = .insertOnly
        case "update_only": mode = .updateOnly
        case let other?: throw APIError.format("update_mode: unknown variant `\(other)`, expected one of `upsert`, `insert_only`, `update_only`")
        }
        let filter = try body["update_filter"].flatMap { $0 == .null ? nil : try FilterDecoding.filter($0, path: "update_filter") }
        return (mode, filter)
    }

    /// The points of an upsert body: `{"points": [...]}` or `{"batch": {"ids", "vectors", "payloads"}}`.
    static func upsert(_ body: JSONFields, naming: VectorNaming, limit: Int) throws -> [Point] {
        if let list = try body.array("points") {
            guard list.count <= limit else { throw APIError.wrongInput("the request holds \(list.count) points; the limit is \(limit) per request") }
            var points: [Point] = []
            points.reserveCapacity(list.count)
            for (i, item) in list.enumerated() {
                let p = try JSONFields(item, path: "points[\(i)]")
                guard let idValue = p["id"] else { throw APIError.format("points[\(i)]: missing field `id`") }
                guard let vectorValue = p["vector"] else { throw APIError.format("points[\(i)]: missing field `vector`") }
                let v = try naming.vectors(vectorValue, path: "points[\(i)].vector")
                points.append(Point(
                    id: try id(idValue, path: "points[\(i)].id"), vector: v.dense, sparse: v.sparse, named: v.named,
                    payload: try payload(p.values["payload"], path: "points[\(i)].payload")))
            }
            return points
        }
        if let batch = try body.object("batch") {
            guard let idsValue = batch["ids"] else { throw APIError.format("batch: missing field `ids`") }
            let ids = try ids(idsValue, path: "batch.ids", limit: limit)
            guard let vectorsValue = batch["vectors"] else { throw APIError.format("batch: missing field `vectors`") }
            // Per point, its vectors as `points` would give them: a plain list, or by name.
            var perPoint: [JSONValue]
            switch vectorsValue {
            case .array(let list): perPoint = list
            case .object(let named):
                perPoint = [JSONValue](repeating: .object([:]), count: ids.count)
                for (name, column) in named.sorted(by: { $0.key < $1.key }) {
                    guard case .array(let list) = column else { throw JSONFields.typeError("batch.vectors[\"\(name)\"]", "an array of vectors", column) }
                    guard list.count == ids.count else {
                        throw APIError.wrongInput("batch: ids and vectors must have the same length (\(ids.count) ids, \(list.count) vectors `\(name)`)")
                    }
                    for (k, v) in list.enumerated() where v != .null {
                        if case .object(var o) = perPoint[k] { o[name] = v; perPoint[k] = .object(o) }
                    }
                }
            default: throw JSONFields.typeError("batch.vectors", "an array of vectors", vectorsValue)
            }
            let payloads = try batch.array("payloads")
            guard perPoint.count == ids.count, payloads == nil || payloads!.count == ids.count else {
                throw APIError.wrongInput("batch: ids, vectors and payloads must have the same length (\(ids.count) ids, \(perPoint.count) vectors\(payloads.map { ", \($0.count) payloads" } ?? ""))")
            }
            var points: [Point] = []
            points.reserveCapacity(ids.count)
            for i in ids.indices {
                let v = try naming.vectors(perPoint[i], path: "batch.vectors[\(i)]")
                points.append(Point(
                    id: ids[i], vector: v.dense, sparse: v.sparse, named: v.named, payload: try payload(payloads?[i], path: "batch.payloads[\(i)]")))
            }
            return points
        }
        throw APIError.format("expected `points` (a list of points) or `batch`")
    }
}
