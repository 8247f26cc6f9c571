import HSDBCore
import QdrantAPI
import SwiftProtobuf

/// The parts many point requests share, as the REST API's JSON fields.
enum GRPCSelectors {
    static func withPayload(_ s: Qdrant_WithPayloadSelector) -> JSONValue? {
        switch s.selectorOptions {
        case .enable(let on)?: .bool(on)
        case .include(let i)?: ["include": .array(i.fields.map(JSONValue.string))]
        case .exclude(let e)?: ["exclude": .array(e.fields.map(JSONValue.string))]
        case nil: nil
        }
    }

    static func withVectors(_ s: Qdrant_WithVectorsSelector) -> JSONValue? {
        switch s.selectorOptions {
        case .enable(let on)?: .bool(on)
        case .include(let i)?: .array(i.names.map(JSONValue.string))
        case nil: nil
        }
    }

    static func params(_ p: Qdrant_SearchParams) throws -> JSONValue {
        var o: [String: JSONValue] = [:]
        if p.hasHnswEf { o["hnsw_ef"] = .int(Int64(clamping: p.hnswEf)) }
        if p.hasExact { o["exact"] = .bool(p.exact) }
        if p.hasIndexedOnly { o["indexed_only"] = .bool(p.indexedOnly) }
        if p.hasQuantization {
            var q: [String: JSONValue] = [:]
            if p.quantization.hasIgnore { q["ignore"] = .bool(p.quantization.ignore) }
            if p.quantization.hasRescore { q["rescore"] = .bool(p.quantization.rescore) }
            if p.quantization.hasOversampling { q["oversampling"] = .double(p.quantization.oversampling) }
            o["quantization"] = .object(q)
        }
        if p.hasAcorn {
            var a: [String: JSONValue] = [:]
            if p.acorn.hasEnable { a["enable"] = .bool(p.acorn.enable) }
            if p.acorn.hasMaxSelectivity { a["max_selectivity"] = .double(p.acorn.maxSelectivity) }
            o["acorn"] = .object(a)
        }
        if p.hasIdf { throw GRPCValues.invalid("search `params.idf` is not supported") }
        return .object(o)
    }

    /// `{"points": [ids]}` or `{"filter": ...}`, merged into a body.
    static func points(_ s: Qdrant_PointsSelector, into body: inout [String: JSONValue]) throws {
        switch s.pointsSelectorOneOf {
        case .points(let list)?: body["points"] = try GRPCValues.ids(list.ids)
        case .filter(let f)?: body["filter"] = try GRPCFilters.filter(f)
        case nil: throw GRPCValues.invalid("the points selector sets neither `points` nor `filter`")
        }
    }

    static func lookup(_ l: Qdrant_LookupLocation) -> JSONValue {
        var o: [String: JSONValue] = ["collection": .string(l.collectionName)]
        if l.hasVectorName { o["vector"] = .string(l.vectorName) }
        return .object(o)
    }

    static func withLookup(_ l: Qdrant_WithLookup) -> JSONValue {
        var o: [String: JSONValue] = ["collection": .string(l.collection)]
        if l.hasWithPayload { o["with_payload"] = withPayload(l.withPayload) }
        if l.hasWithVectors { o["with_vectors"] = withVectors(l.withVectors) }
        return .object(o)
    }

    static func orderBy(_ o: Qdrant_OrderBy) -> JSONValue {
        var j: [String: JSONValue] = ["key": .string(o.key)]
        if o.hasDirection { j["direction"] = .string(o.direction == .desc ? "desc" : "asc") }
        if o.hasStartFrom {
            switch o.startFrom.value {
            case .float(let d)?: j["start_from"] = .double(d)
            case .integer(let n)?: j["start_from"] = .int(n)
            case .timestamp(let t)?: j["start_from"] = GRPCValues.datetime(t)
            case .datetime(let s)?: j["start_from"] = .string(s)
            case nil: break
            }
        }
        return .object(j)
    }

    static func shardKey(_ s: Qdrant_ShardKeySelector) -> JSONValue {
        let keys: [JSONValue] = s.shardKeys.map { k in
            switch k.key {
            case .keyword(let w)?: .string(w)
            case .number(let n)?: .int(Int64(clamping: n))
            case nil: .null
            }
        }
        return keys.count == 1 ? keys[0] : .array(keys)
    }

    /// `?wait=..&ordering=..&timeout=..` of a write.
    static func writeQuery(wait: Bool?, ordering: Qdrant_WriteOrdering?, timeout: UInt64?) -> String {
        var items: [String] = []
        if let wait { items.append("wait=\(wait)") }
        if let ordering { items.append("ordering=\(["weak", "medium", "strong"][min(ordering.type.rawValue, 2)])") }
        if let timeout { items.append("timeout=\(timeout)") }
        return items.isEmpty ? "" : "?" + items.joined(separator: "&")
    }

    /// `?timeout=..&consistency=..` of a read.
    static func readQuery(timeout: UInt64?, consistency: Qdrant_ReadConsistency?) -> String {
        var items: [String] = []
        if let timeout { items.append("timeout=\(timeout)") }
        switch consistency?.value {
        case .type(let t)?: items.append("consistency=\(["all", "majority", "quorum"][min(t.rawValue, 2)])")
        case .factor(let n)?: items.append("consistency=\(n)")
        case nil: break
        }
        return items.isEmpty ? "" : "?" + items.joined(separator: "&")
    }

    /// A payload index's parameters as REST's `field_schema` object (`type` and its options).
    static func indexSchema(_ p: Qdrant_PayloadIndexParams) throws -> JSONValue {
        let (type, message): (String, any SwiftProtobuf.Message) = switch p.indexParams {
        case .keywordIndexParams(let m)?: ("keyword", m)
        case .integerIndexParams(let m)?: ("integer", m)
        case .floatIndexParams(let m)?: ("float", m)
        case .geoIndexParams(let m)?: ("geo", m)
        case .textIndexParams(let m)?: ("text", m)
        case .boolIndexParams(let m)?: ("bool", m)
        case .datetimeIndexParams(let m)?: ("datetime", m)
        case .uuidIndexParams(let m)?: ("uuid", m)
        case nil: throw GRPCValues.invalid("`field_index_params` sets none of its kinds")
        }
        guard case .object(var o) = try GRPCJSON.restShape(message) else { return [:] }
        o["type"] = .string(type)
        return .object(o)
    }
}
