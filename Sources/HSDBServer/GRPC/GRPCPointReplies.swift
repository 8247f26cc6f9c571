import HSDBCore
import QdrantAPI

/// The REST API's answers (points, groups, update results) as Qdrant's reply messages.
enum GRPCPointReplies {
    static func scored(_ j: JSONValue) -> Qdrant_ScoredPoint {
        var p = Qdrant_ScoredPoint()
        p.id = GRPCValues.pointID(GRPCJSON.field(j, "id"))
        p.payload = GRPCValues.payload(GRPCJSON.field(j, "payload"))
        p.score = Float(GRPCJSON.double(GRPCJSON.field(j, "score")) ?? 0)
        p.version = GRPCJSON.uint(GRPCJSON.field(j, "version")) ?? 0
        if let v = GRPCVectors.output(GRPCJSON.field(j, "vector")) { p.vectors = v }
        if let o = orderValue(GRPCJSON.field(j, "order_value")) { p.orderValue = o }
        if let k = shardKey(GRPCJSON.field(j, "shard_key")) { p.shardKey = k }
        return p
    }

    static func retrieved(_ j: JSONValue) -> Qdrant_RetrievedPoint {
        var p = Qdrant_RetrievedPoint()
        p.id = GRPCValues.pointID(GRPCJSON.field(j, "id"))
        p.payload = GRPCValues.payload(GRPCJSON.field(j, "payload"))
        if let v = GRPCVectors.output(GRPCJSON.field(j, "vector")) { p.vectors = v }
        if let o = orderValue(GRPCJSON.field(j, "order_value")) { p.orderValue = o }
        if let k = shardKey(GRPCJSON.field(j, "shard_key")) { p.shardKey = k }
        return p
    }

    static func scoredList(_ j: JSONValue) -> [Qdrant_ScoredPoint] {
        if case .array(let a) = j { return a.map(scored) }
        return GRPCJSON.array(j, "points").map(scored)
    }

    static func batch(_ j: JSONValue) -> [Qdrant_BatchResult] {
        guard case .array(let a) = j else { return [] }
        return a.map { r in .with { $0.result = scoredList(r) } }
    }

    static func groups(_ j: JSONValue) -> Qdrant_GroupsResult {
        .with { r in
            r.groups = GRPCJSON.array(j, "groups").map { g in
                var group = Qdrant_PointGroup()
                group.id = groupID(GRPCJSON.field(g, "id"))
                group.hits = GRPCJSON.array(g, "hits").map(scored)
                if let lookup = GRPCJSON.field(g, "lookup"), lookup != .null { group.lookup = retrieved(lookup) }
                return group
            }
        }
    }

    static func groupID(_ j: JSONValue?) -> Qdrant_GroupId {
        var id = Qdrant_GroupId()
        switch j {
        case .int(let n)? where n >= 0: id.unsignedValue = UInt64(n)
        case .int(let n)?: id.integerValue = n
        case .string(let s)?: id.stringValue = s
        default: break
        }
        return id
    }

    static func update(_ j: JSONValue) -> Qdrant_UpdateResult {
        var r = Qdrant_UpdateResult()
        if let id = GRPCJSON.uint(GRPCJSON.field(j, "operation_id")) { r.operationID = id }
        r.status = switch GRPCJSON.field(j, "status") {
        case .string("acknowledged")?: .acknowledged
        case .string("completed")?: .completed
        case .string("wait_timeout")?: .waitTimeout
        case .string("clock_rejected")?: .clockRejected
        default: .unknownUpdateStatus
        }
        return r
    }

    static func orderValue(_ j: JSONValue?) -> Qdrant_OrderValue? {
        switch j {
        case .int(let n)?: .with { $0.int = n }
        case .double(let d)?: .with { $0.float = d }
        default: nil
        }
    }

    static func shardKey(_ j: JSONValue?) -> Qdrant_ShardKey? {
        switch j {
        case .string(let s)?: .with { $0.keyword = s }
        case .int(let n)? where n >= 0: .with { $0.number = UInt64(n) }
        default: nil
        }
    }
}
