import GRPCCore
import HSDBCore
import HTTPTypes
import QdrantAPI

/// `qdrant.Points`: every method answered by the REST route of the same name, through
/// `GRPCBridge`. This file has the writes; the reads are in `GRPCPointsService+Reads`.
struct GRPCPointsService: Qdrant_Points.SimpleServiceProtocol {
    let bridge: GRPCBridge

    func upsert(request r: Qdrant_UpsertPoints, context: ServerContext) async throws -> Qdrant_PointsOperationResponse {
        var body: [String: JSONValue] = ["points": .array(try r.points.map(Self.point))]
        if r.hasUpdateFilter { body["update_filter"] = try GRPCFilters.filter(r.updateFilter) }
        if r.hasUpdateMode { body["update_mode"] = Self.updateMode(r.updateMode) }
        if r.hasShardKeySelector { body["shard_key"] = GRPCSelectors.shardKey(r.shardKeySelector) }
        return try await write(.put, r, "points", body)
    }

    func delete(request r: Qdrant_DeletePoints, context: ServerContext) async throws -> Qdrant_PointsOperationResponse {
        var body: [String: JSONValue] = [:]
        try GRPCSelectors.points(r.points, into: &body)
        if r.hasShardKeySelector { body["shard_key"] = GRPCSelectors.shardKey(r.shardKeySelector) }
        return try await write(.post, r, "points/delete", body)
    }

    func updateVectors(request r: Qdrant_UpdatePointVectors, context: ServerContext) async throws -> Qdrant_PointsOperationResponse {
        var body: [String: JSONValue] = ["points": .array(try r.points.map(Self.pointVectors))]
        if r.hasUpdateFilter { body["update_filter"] = try GRPCFilters.filter(r.updateFilter) }
        if r.hasShardKeySelector { body["shard_key"] = GRPCSelectors.shardKey(r.shardKeySelector) }
        return try await write(.put, r, "points/vectors", body)
    }

    func deleteVectors(request r: Qdrant_DeletePointVectors, context: ServerContext) async throws -> Qdrant_PointsOperationResponse {
        var body: [String: JSONValue] = ["vector": .array(r.vectors.names.map(JSONValue.string))]
        try GRPCSelectors.points(r.pointsSelector, into: &body)
        if r.hasShardKeySelector { body["shard_key"] = GRPCSelectors.shardKey(r.shardKeySelector) }
        return try await write(.post, r, "points/vectors/delete", body)
    }

    func setPayload(request r: Qdrant_SetPayloadPoints, context: ServerContext) async throws -> Qdrant_PointsOperationResponse {
        try await write(.post, r, "points/payload", try Self.setPayload(r))
    }

    func overwritePayload(request r: Qdrant_SetPayloadPoints, context: ServerContext) async throws -> Qdrant_PointsOperationResponse {
        try await write(.put, r, "points/payload", try Self.setPayload(r))
    }

    func deletePayload(request r: Qdrant_DeletePayloadPoints, context: ServerContext) async throws -> Qdrant_PointsOperationResponse {
        var body: [String: JSONValue] = ["keys": .array(r.keys.map(JSONValue.string))]
        if r.hasPointsSelector { try GRPCSelectors.points(r.pointsSelector, into: &body) }
        if r.hasShardKeySelector { body["shard_key"] = GRPCSelectors.shardKey(r.shardKeySelector) }
        return try await write(.post, r, "points/payload/delete", body)
    }

    func clearPayload(request r: Qdrant_ClearPayloadPoints, context: ServerContext) async throws -> Qdrant_PointsOperationResponse {
        var body: [String: JSONValue] = [:]
        try GRPCSelectors.points(r.points, into: &body)
        if r.hasShardKeySelector { body["shard_key"] = GRPCSelectors.shardKey(r.shardKeySelector) }
        return try await write(.post, r, "points/payload/clear", body)
    }

    func createFieldIndex(request r: Qdrant_CreateFieldIndexCollection, context: ServerContext) async throws -> Qdrant_PointsOperationResponse {
        var body: [String: JSONValue] = ["field_name": .string(r.fieldName)]
        if r.hasFieldIndexParams {
            body["field_schema"] = try GRPCSelectors.indexSchema(r.fieldIndexParams)
        } else if r.hasFieldType {
            let names = ["keyword", "integer", "float", "geo", "text", "bool", "datetime", "uuid"]
            guard r.fieldType.rawValue < names.count else { throw GRPCValues.invalid("unknown field type \(r.fieldType.rawValue)") }
            body["field_schema"] = .string(names[r.fieldType.rawValue])
        }
        return try await write(.put, r, "index", body)
    }

    func deleteFieldIndex(request r: Qdrant_DeleteFieldIndexCollection, context: ServerContext) async throws -> Qdrant_PointsOperationResponse {
        let path = "index/" + GRPCBridge.segment(r.fieldName)
        return try await write(.delete, r, path, nil)
    }

    func updateBatch(request r: Qdrant_UpdateBatchPoints, context: ServerContext) async throws -> Qdrant_UpdateBatchResponse {
        let body: JSONValue = ["operations": .array(try r.operations.map(GRPCBatchOperations.json))]
        let path = "/collections/\(GRPCBridge.segment(r.collectionName))/points/batch\(r.restQuery)"
        let (result, time) = try await bridge.call(.post, path, body: body)
        var reply = Qdrant_UpdateBatchResponse()
        if case .array(let a) = result { reply.result = a.map(GRPCPointReplies.update) }
        reply.time = time
        return reply
    }

    /// Sends a write to its REST route and answers its update result.
    func write(
        _ method: HTTPRequest.Method, _ request: some GRPCWriteRequest, _ route: String, _ body: [String: JSONValue]?
    ) async throws -> Qdrant_PointsOperationResponse {
        let path = "/collections/\(GRPCBridge.segment(request.collectionName))/\(route)\(request.restQuery)"
        let (result, time) = try await bridge.call(method, path, body: body.map(JSONValue.object))
        var reply = Qdrant_PointsOperationResponse()
        reply.result = GRPCPointReplies.update(result)
        reply.time = time
        return reply
    }

    static func point(_ p: Qdrant_PointStruct) throws -> JSONValue {
        var o: [String: JSONValue] = ["id": try GRPCValues.id(p.id), "payload": GRPCValues.json(p.payload)]
        if p.hasVectors { o["vector"] = try GRPCVectors.json(p.vectors) }
        return .object(o)
    }

    static func pointVectors(_ p: Qdrant_PointVectors) throws -> JSONValue {
        ["id": try GRPCValues.id(p.id), "vector": try GRPCVectors.json(p.vectors)]
    }

    static func updateMode(_ m: Qdrant_UpdateMode) -> JSONValue {
        switch m {
        case .insertOnly: "insert_only"
        case .updateOnly: "update_only"
        default: "upsert"
        }
    }

    static func setPayload(_ r: Qdrant_SetPayloadPoints) throws -> [String: JSONValue] {
        var body: [String: JSONValue] = ["payload": GRPCValues.json(r.payload)]
        if r.hasPointsSelector { try GRPCSelectors.points(r.pointsSelector, into: &body) }
        if r.hasKey { body["key"] = .string(r.key) }
        if r.hasShardKeySelector { body["shard_key"] = GRPCSelectors.shardKey(r.shardKeySelector) }
        return body
    }
}
