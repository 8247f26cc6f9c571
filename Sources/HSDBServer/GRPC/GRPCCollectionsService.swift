import GRPCCore
import HSDBCore
import QdrantAPI

/// `qdrant.Collections`: list, exists, get, create, update and delete (aliases in
/// `+Aliases`), answered by the REST routes.
struct GRPCCollectionsService: Qdrant_Collections.SimpleServiceProtocol {
    let bridge: GRPCBridge

    func list(request: Qdrant_ListCollectionsRequest, context: ServerContext) async throws -> Qdrant_ListCollectionsResponse {
        let (result, time) = try await bridge.call(.get, "/collections")
        var reply = Qdrant_ListCollectionsResponse()
        reply.collections = GRPCJSON.array(result, "collections").compactMap { c in
            guard case .string(let name)? = GRPCJSON.field(c, "name") else { return nil }
            var d = Qdrant_CollectionDescription()
            d.name = name
            return d
        }
        reply.time = time
        return reply
    }

    func collectionExists(
        request: Qdrant_CollectionExistsRequest, context: ServerContext
    ) async throws -> Qdrant_CollectionExistsResponse {
        try GRPCJSON.refuseUnknownFields(request)
        let (result, time) = try await bridge.call(.get, "/collections/\(GRPCBridge.segment(request.collectionName))/exists")
        var reply = Qdrant_CollectionExistsResponse()
        reply.result.exists = GRPCJSON.field(result, "exists") == .bool(true)
        reply.time = time
        return reply
    }

    func get(request: Qdrant_GetCollectionInfoRequest, context: ServerContext) async throws -> Qdrant_GetCollectionInfoResponse {
        try GRPCJSON.refuseUnknownFields(request)
        let (result, time) = try await bridge.call(.get, "/collections/\(GRPCBridge.segment(request.collectionName))")
        var reply = Qdrant_GetCollectionInfoResponse()
        reply.result = try GRPCCollectionInfo.info(from: result)
        reply.time = time
        return reply
    }

    func create(request: Qdrant_CreateCollection, context: ServerContext) async throws -> Qdrant_CollectionOperationResponse {
        let body = try GRPCCreateCollection.body(of: request)
        let timeout = request.hasTimeout ? "?timeout=\(request.timeout)" : ""
        let (result, time) = try await bridge.call(.put, "/collections/\(GRPCBridge.segment(request.collectionName))\(timeout)", body: body)
        return Self.operation(result, time)
    }

    func update(request: Qdrant_UpdateCollection, context: ServerContext) async throws -> Qdrant_CollectionOperationResponse {
        let body = try GRPCUpdateCollection.body(of: request)
        let timeout = request.hasTimeout ? "?timeout=\(request.timeout)" : ""
        let (result, time) = try await bridge.call(.patch, "/collections/\(GRPCBridge.segment(request.collectionName))\(timeout)", body: body)
        return Self.operation(result, time)
    }

    func delete(request: Qdrant_DeleteCollection, context: ServerContext) async throws -> Qdrant_CollectionOperationResponse {
        try GRPCJSON.refuseUnknownFields(request)
        let timeout = request.hasTimeout ? "?timeout=\(request.timeout)" : ""
        let (result, time) = try await bridge.call(.delete, "/collections/\(GRPCBridge.segment(request.collectionName))\(timeout)")
        return Self.operation(result, time)
    }

    static func operation(_ result: JSONValue, _ time: Double) -> Qdrant_CollectionOperationResponse {
        var reply = Qdrant_CollectionOperationResponse()
        reply.result = result == .bool(true)
        reply.time = time
        return reply
    }
}
