import HSDBCore
import QdrantAPI

/// The bodies of REST's search, recommend and discover routes, from their messages (each
/// also a batch's entry).
enum GRPCPointRequests {
    static func search(_ s: Qdrant_SearchPoints) throws -> [String: JSONValue] {
        let vector = searched(s.vector, s.hasSparseIndices ? s.sparseIndices : nil, s.hasVectorName ? s.vectorName : nil)
        var o: [String: JSONValue] = ["vector": vector, "limit": .int(Int64(clamping: s.limit))]
        if s.hasFilter { o["filter"] = try GRPCFilters.filter(s.filter) }
        if s.hasWithPayload { o["with_payload"] = GRPCSelectors.withPayload(s.withPayload) }
        if s.hasParams { o["params"] = try GRPCSelectors.params(s.params) }
        if s.hasScoreThreshold { o["score_threshold"] = .double(Double(s.scoreThreshold)) }
        if s.hasOffset { o["offset"] = .int(Int64(clamping: s.offset)) }
        if s.hasWithVectors { o["with_vector"] = GRPCSelectors.withVectors(s.withVectors) }
        if s.hasShardKeySelector { o["shard_key"] = GRPCSelectors.shardKey(s.shardKeySelector) }
        return o
    }

    static func searchGroups(_ s: Qdrant_SearchPointGroups) throws -> [String: JSONValue] {
        let vector = searched(s.vector, s.hasSparseIndices ? s.sparseIndices : nil, s.hasVectorName ? s.vectorName : nil)
        var o: [String: JSONValue] = [
            "vector": vector, "limit": .int(Int64(s.limit)), "group_by": .string(s.groupBy), "group_size": .int(Int64(s.groupSize)),
        ]
        if s.hasFilter { o["filter"] = try GRPCFilters.filter(s.filter) }
        if s.hasWithPayload { o["with_payload"] = GRPCSelectors.withPayload(s.withPayload) }
        if s.hasParams { o["params"] = try GRPCSelectors.params(s.params) }
        if s.hasScoreThreshold { o["score_threshold"] = .double(Double(s.scoreThreshold)) }
        if s.hasWithVectors { o["with_vector"] = GRPCSelectors.withVectors(s.withVectors) }
        if s.hasWithLookup { o["with_lookup"] = GRPCSelectors.withLookup(s.withLookup) }
        if s.hasShardKeySelector { o["shard_key"] = GRPCSelectors.shardKey(s.shardKeySelector) }
        return o
    }

    static func recommend(_ r: Qdrant_RecommendPoints) throws -> [String: JSONValue] {
        var o = try examples(r.positive, r.positiveVectors, r.negative, r.negativeVectors)
        o["limit"] = .int(Int64(clamping: r.limit))
        if r.hasStrategy { o["strategy"] = GRPCQueries.strategy(r.strategy) }
        if r.hasFilter { o["filter"] = try GRPCFilters.filter(r.filter) }
        if r.hasWithPayload { o["with_payload"] = GRPCSelectors.withPayload(r.withPayload) }
        if r.hasParams { o["params"] = try GRPCSelectors.params(r.params) }
        if r.hasScoreThreshold { o["score_threshold"] = .double(Double(r.scoreThreshold)) }
        if r.hasOffset { o["offset"] = .int(Int64(clamping: r.offset)) }
        if r.hasUsing { o["using"] = .string(r.using) }
        if r.hasWithVectors { o["with_vector"] = GRPCSelectors.withVectors(r.withVectors) }
        if r.hasLookupFrom { o["lookup_from"] = GRPCSelectors.lookup(r.lookupFrom) }
        if r.hasShardKeySelector { o["shard_key"] = GRPCSelectors.shardKey(r.shardKeySelector) }
        return o
    }

    static func recommendGroups(_ r: Qdrant_RecommendPointGroups) throws -> [String: JSONValue] {
        var o = try examples(r.positive, r.positiveVectors, r.negative, r.negativeVectors)
        o["limit"] = .int(Int64(r.limit))
        o["group_by"] = .string(r.groupBy)
        o["group_size"] = .int(Int64(r.groupSize))
        if r.hasStrategy { o["strategy"] = GRPCQueries.strategy(r.strategy) }
        if r.hasFilter { o["filter"] = try GRPCFilters.filter(r.filter) }
        if r.hasWithPayload { o["with_payload"] = GRPCSelectors.withPayload(r.withPayload) }
        if r.hasParams { o["params"] = try GRPCSelectors.params(r.params) }
        if r.hasScoreThreshold { o["score_threshold"] = .double(Double(r.scoreThreshold)) }
        if r.hasUsing { o["using"] = .string(r.using) }
        if r.hasWithVectors { o["with_vector"] = GRPCSelectors.withVectors(r.withVectors) }
        if r.hasLookupFrom { o["lookup_from"] = GRPCSelectors.lookup(r.lookupFrom) }
        if r.hasWithLookup { o["with_lookup"] = GRPCSelectors.withLookup(r.withLookup) }
        if r.hasShardKeySelector { o["shard_key"] = GRPCSelectors.shardKey(r.shardKeySelector) }
        return o
    }

    static func discover(_ d: Qdrant_DiscoverPoints) throws -> [String: JSONValue] {
        var o: [String: JSONValue] = [
            "limit": .int(Int64(clamping: d.limit)),
            "context": .array(try d.context.map { ["positive": try example(Optional($0.positive)), "negative": try example($0.negative)] }),
        ]
        if d.hasTarget, case .single(let t)? = d.target.target { o["target"] = try example(t) }
        if d.hasFilter { o["filter"] = try GRPCFilters.filter(d.filter) }
        if d.hasWithPayload { o["with_payload"] = GRPCSelectors.withPayload(d.withPayload) }
        if d.hasParams { o["params"] = try GRPCSelectors.params(d.params) }
        if d.hasOffset { o["offset"] = .int(Int64(clamping: d.offset)) }
        if d.hasUsing { o["using"] = .string(d.using) }
        if d.hasWithVectors { o["with_vector"] = GRPCSelectors.withVectors(d.withVectors) }
        if d.hasLookupFrom { o["lookup_from"] = GRPCSelectors.lookup(d.lookupFrom) }
        if d.hasShardKeySelector { o["shard_key"] = GRPCSelectors.shardKey(d.shardKeySelector) }
        return o
    }

    /// A search's vector as REST's `vector`: dense, or sparse (with `sparse_indices`), and
    /// `{"name", "vector"}` when it names the collection's vector.
    static func searched(_ values: [Float], _ sparse: Qdrant_SparseIndices?, _ name: String?) -> JSONValue {
        let vector = sparse.map { GRPCVectors.sparse(indices: $0.data, values: values) } ?? GRPCVectors.floats(values)
        return name.map { ["name": .string($0), "vector": vector] } ?? vector
    }

    /// Recommend's examples: point ids, then vectors, on each side.
    static func examples(
        _ positive: [Qdrant_PointId], _ positiveVectors: [Qdrant_Vector], _ negative: [Qdrant_PointId], _ negativeVectors: [Qdrant_Vector]
    ) throws -> [String: JSONValue] {
        [
            "positive": .array(try positive.map(GRPCValues.id) + positiveVectors.map(GRPCVectors.json)),
            "negative": .array(try negative.map(GRPCValues.id) + negativeVectors.map(GRPCVectors.json)),
        ]
    }

    static func example(_ e: Qdrant_VectorExample?) throws -> JSONValue {
        switch e?.example {
        case .id(let id)?: try GRPCValues.id(id)
        case .vector(let v)?: try GRPCVectors.json(v)
        case nil: throw GRPCValues.invalid("a discover example sets neither `id` nor `vector`")
        }
    }
}
