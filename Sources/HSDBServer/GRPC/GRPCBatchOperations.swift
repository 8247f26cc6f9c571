import HSDBCore
import QdrantAPI

/// One operation of `UpdateBatch` as an entry of REST's `points/batch`.
enum GRPCBatchOperations {
    static func json(_ op: Qdrant_PointsUpdateOperation) throws -> JSONValue {
        switch op.operation {
        case .upsert(let u)?:
            var o: [String: JSONValue] = ["points": .array(try u.points.map(GRPCPointsService.point))]
            if u.hasUpdateFilter { o["update_filter"] = try GRPCFilters.filter(u.updateFilter) }
            if u.hasUpdateMode { o["update_mode"] = GRPCPointsService.updateMode(u.updateMode) }
            return ["upsert": .object(o)]
        case .deleteDeprecated(let s)?: return ["delete": try selected(s)]
        case .deletePoints(let d)?: return ["delete": try selected(d.points)]
        case .setPayload(let p)?: return ["set_payload": try payload(p.payload, p.hasPointsSelector ? p.pointsSelector : nil, p.hasKey ? p.key : nil)]
        case .overwritePayload(let p)?:
            return ["overwrite_payload": try payload(p.payload, p.hasPointsSelector ? p.pointsSelector : nil, p.hasKey ? p.key : nil)]
        case .deletePayload(let d)?:
            var o: [String: JSONValue] = ["keys": .array(d.keys.map(JSONValue.string))]
            if d.hasPointsSelector { try GRPCSelectors.points(d.pointsSelector, into: &o) }
            return ["delete_payload": .object(o)]
        case .clearPayloadDeprecated_p(let s)?: return ["clear_payload": try selected(s)]
        case .clearPayload_p(let c)?: return ["clear_payload": try selected(c.points)]
        case .updateVectors(let u)?:
            var o: [String: JSONValue] = ["points": .array(try u.points.map(GRPCPointsService.pointVectors))]
            if u.hasUpdateFilter { o["update_filter"] = try GRPCFilters.filter(u.updateFilter) }
            return ["update_vectors": .object(o)]
        case .deleteVectors(let d)?:
            var o: [String: JSONValue] = ["vector": .array(d.vectors.names.map(JSONValue.string))]
            try GRPCSelectors.points(d.pointsSelector, into: &o)
            return ["delete_vectors": .object(o)]
        case nil: throw GRPCValues.invalid("a batch operation sets none of its kinds")
        }
    }

    static func selected(_ s: Qdrant_PointsSelector) throws -> JSONValue {
        var o: [String: JSONValue] = [:]
        try GRPCSelectors.points(s, into: &o)
        return .object(o)
    }

    static func payload(_ payload: [String: Qdrant_Value], _ s: Qdrant_PointsSelector?, _ key: String?) throws -> JSONValue {
        var o: [String: JSONValue] = ["payload": GRPCValues.json(payload)]
        if let s { try GRPCSelectors.points(s, into: &o) }
        if let key { o["key"] = .string(key) }
        return .object(o)
    }
}
