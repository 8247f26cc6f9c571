import GRPCCore
import HSDBCore
import QdrantAPI

/// The reads of `qdrant.Points`, each answered by its REST route.
extension GRPCPointsService {
    func get(request r: Qdrant_GetPoints, context: ServerContext) async throws -> Qdrant_GetResponse {
        var body: [String: JSONValue] = ["ids": try GRPCValues.ids(r.ids)]
        if r.hasWithPayload { body["with_payload"] = GRPCSelectors.withPayload(r.withPayload) }
        if r.hasWithVectors { body["with_vector"] = GRPCSelectors.withVectors(r.withVectors) }
        let (result, time) = try await read(r, "points", body)
        return .with { reply in
            if case .array(let a) = result { reply.result = a.map(GRPCPointReplies.retrieved) }
            reply.time = time
        }
    }

    func scroll(request r: Qdrant_ScrollPoints, context: ServerContext) async throws -> Qdrant_ScrollResponse {
        var body: [String: JSONValue] = [:]
        if r.hasFilter { body["filter"] = try GRPCFilters.filter(r.filter) }
        if r.hasOffset { body["offset"] = try GRPCValues.id(r.offset) }
        if r.hasLimit { body["limit"] = .int(Int64(r.limit)) }
        if r.hasWithPayload { body["with_payload"] = GRPCSelectors.withPayload(r.withPayload) }
        if r.hasWithVectors { body["with_vector"] = GRPCSelectors.withVectors(r.withVectors) }
        if r.hasOrderBy { body["order_by"] = GRPCSelectors.orderBy(r.orderBy) }
        let (result, time) = try await read(r, "points/scroll", body)
        return .with { reply in
            reply.result = GRPCJSON.array(result, "points").map(GRPCPointReplies.retrieved)
            if let next = GRPCJSON.field(result, "next_page_offset"), next != .null { reply.nextPageOffset = GRPCValues.pointID(next) }
            reply.time = time
        }
    }

    func count(request r: Qdrant_CountPoints, context: ServerContext) async throws -> Qdrant_CountResponse {
        var body: [String: JSONValue] = [:]
        if r.hasFilter { body["filter"] = try GRPCFilters.filter(r.filter) }
        if r.hasExact { body["exact"] = .bool(r.exact) }
        let (result, time) = try await read(r, "points/count", body)
        return .with { $0.result.count = GRPCJSON.uint(GRPCJSON.field(result, "count")) ?? 0; $0.time = time }
    }

    func facet(request r: Qdrant_FacetCounts, context: ServerContext) async throws -> Qdrant_FacetResponse {
        var body: [String: JSONValue] = ["key": .string(r.key)]
        if r.hasFilter { body["filter"] = try GRPCFilters.filter(r.filter) }
        if r.hasLimit { body["limit"] = .int(Int64(clamping: r.limit)) }
        if r.hasExact { body["exact"] = .bool(r.exact) }
        let (result, time) = try await read(r, "facet", body)
        return .with { reply in
            reply.hits = GRPCJSON.array(result, "hits").map { hit in
                var h = Qdrant_FacetHit()
                switch GRPCJSON.field(hit, "value") {
                case .string(let s)?: h.value.stringValue = s
                case .int(let n)?: h.value.integerValue = n
                case .bool(let b)?: h.value.boolValue = b
                default: break
                }
                h.count = GRPCJSON.uint(GRPCJSON.field(hit, "count")) ?? 0
                return h
            }
            reply.time = time
        }
    }

    func search(request r: Qdrant_SearchPoints, context: ServerContext) async throws -> Qdrant_SearchResponse {
        let (result, time) = try await read(r, "points/search", try GRPCPointRequests.search(r))
        return .with { $0.result = GRPCPointReplies.scoredList(result); $0.time = time }
    }

    func searchBatch(request r: Qdrant_SearchBatchPoints, context: ServerContext) async throws -> Qdrant_SearchBatchResponse {
        let searches = try r.searchPoints.map { JSONValue.object(try GRPCPointRequests.search($0)) }
        let (result, time) = try await read(r, "points/search/batch", ["searches": .array(searches)])
        return .with { $0.result = GRPCPointReplies.batch(result); $0.time = time }
    }

    func searchGroups(request r: Qdrant_SearchPointGroups, context: ServerContext) async throws -> Qdrant_SearchGroupsResponse {
        let (result, time) = try await read(r, "points/search/groups", try GRPCPointRequests.searchGroups(r))
        return .with { $0.result = GRPCPointReplies.groups(result); $0.time = time }
    }

    func recommend(request r: Qdrant_RecommendPoints, context: ServerContext) async throws -> Qdrant_RecommendResponse {
        let (result, time) = try await read(r, "points/recommend", try GRPCPointRequests.recommend(r))
        return .with { $0.result = GRPCPointReplies.scoredList(result); $0.time = time }
    }

    func recommendBatch(request r: Qdrant_RecommendBatchPoints, context: ServerContext) async throws -> Qdrant_RecommendBatchResponse {
        let searches = try r.recommendPoints.map { JSONValue.object(try GRPCPointRequests.recommend($0)) }
        let (result, time) = try await read(r, "points/recommend/batch", ["searches": .array(searches)])
        return .with { $0.result = GRPCPointReplies.batch(result); $0.time = time }
    }

    func recommendGroups(request r: Qdrant_RecommendPointGroups, context: ServerContext) async throws -> Qdrant_RecommendGroupsResponse {
        let (result, time) = try await read(r, "points/recommend/groups", try GRPCPointRequests.recommendGroups(r))
        return .with { $0.result = GRPCPointReplies.groups(result); $0.time = time }
    }

    func discover(request r: Qdrant_DiscoverPoints, context: ServerContext) async throws -> Qdrant_DiscoverResponse {
        let (result, time) = try await read(r, "points/discover", try GRPCPointRequests.discover(r))
        return .with { $0.result = GRPCPointReplies.scoredList(result); $0.time = time }
    }

    func discoverBatch(request r: Qdrant_DiscoverBatchPoints, context: ServerContext) async throws -> Qdrant_DiscoverBatchResponse {
        let searches = try r.discoverPoints.map { JSONValue.object(try GRPCPointRequests.discover($0)) }
        let (result, time) = try await read(r, "points/discover/batch", ["searches": .array(searches)])
        return .with { $0.result = GRPCPointReplies.batch(result); $0.time = time }
    }

    func query(request r: Qdrant_QueryPoints, context: ServerContext) async throws -> Qdrant_QueryResponse {
        guard case .object(let body) = try GRPCQueries.body(r) else { return .init() }
        let (result, time) = try await read(r, "points/query", body)
        return .with { $0.result = GRPCPointReplies.scoredList(result); $0.time = time }
    }

    func queryBatch(request r: Qdrant_QueryBatchPoints, context: ServerContext) async throws -> Qdrant_QueryBatchResponse {
        let searches = try r.queryPoints.map(GRPCQueries.body)
        let (result, time) = try await read(r, "points/query/batch", ["searches": .array(searches)])
        return .with { $0.result = GRPCPointReplies.batch(result); $0.time = time }
    }

    func queryGroups(request r: Qdrant_QueryPointGroups, context: ServerContext) async throws -> Qdrant_QueryGroupsResponse {
        guard case .object(let body) = try GRPCQueries.groupsBody(r) else { return .init() }
        let (result, time) = try await read(r, "points/query/groups", body)
        return .with { $0.result = GRPCPointReplies.groups(result); $0.time = time }
    }

    /// Sends a read to its REST route (`POST`, with the request's timeout and consistency).
    func read(
        _ request: some GRPCReadRequest, _ route: String, _ body: [String: JSONValue]
    ) async throws -> (result: JSONValue, time: Double) {
        let path = "/collections/\(GRPCBridge.segment(request.collectionName))/\(route)\(request.restQuery)"
        return try await bridge.call(.post, path, body: .object(body))
    }
}

/// The distance matrix of a sample of points, as pairs or as offsets.
extension GRPCPointsService {
    func searchMatrixPairs(request r: Qdrant_SearchMatrixPoints, context: ServerContext) async throws -> Qdrant_SearchMatrixPairsResponse {
        let (result, time) = try await read(r, "points/search/matrix/pairs", try Self.matrix(r))
        return .with { reply in
            reply.result.pairs = GRPCJSON.array(result, "pairs").map { p in
                .with {
                    $0.a = GRPCValues.pointID(GRPCJSON.field(p, "a"))
                    $0.b = GRPCValues.pointID(GRPCJSON.field(p, "b"))
                    $0.score = Float(GRPCJSON.double(GRPCJSON.field(p, "score")) ?? 0)
                }
            }
            reply.time = time
        }
    }

    func searchMatrixOffsets(
        request r: Qdrant_SearchMatrixPoints, context: ServerContext
    ) async throws -> Qdrant_SearchMatrixOffsetsResponse {
        let (result, time) = try await read(r, "points/search/matrix/offsets", try Self.matrix(r))
        return .with { reply in
            reply.result.offsetsRow = GRPCJSON.array(result, "offsets_row").map { GRPCJSON.uint($0) ?? 0 }
            reply.result.offsetsCol = GRPCJSON.array(result, "offsets_col").map { GRPCJSON.uint($0) ?? 0 }
            reply.result.scores = GRPCJSON.array(result, "scores").map { Float(GRPCJSON.double($0) ?? 0) }
            reply.result.ids = GRPCJSON.array(result, "ids").map { GRPCValues.pointID($0) }
            reply.time = time
        }
    }

    static func matrix(_ r: Qdrant_SearchMatrixPoints) throws -> [String: JSONValue] {
        var body: [String: JSONValue] = [:]
        if r.hasFilter { body["filter"] = try GRPCFilters.filter(r.filter) }
        if r.hasSample { body["sample"] = .int(Int64(clamping: r.sample)) }
        if r.hasLimit { body["limit"] = .int(Int64(clamping: r.limit)) }
        if r.hasUsing { body["using"] = .string(r.using) }
        if r.hasShardKeySelector { body["shard_key"] = GRPCSelectors.shardKey(r.shardKeySelector) }
        return body
    }
}
