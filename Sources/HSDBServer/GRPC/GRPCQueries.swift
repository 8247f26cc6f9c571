import HSDBCore
import QdrantAPI

/// The universal query API's messages as the body of REST's `points/query`.
enum GRPCQueries {
    static func body(_ q: Qdrant_QueryPoints) throws -> JSONValue {
        var o = try shared(q)
        if q.hasOffset { o["offset"] = .int(Int64(clamping: q.offset)) }
        if q.hasWithVectors { o["with_vector"] = GRPCSelectors.withVectors(q.withVectors) }
        if q.hasWithPayload { o["with_payload"] = GRPCSelectors.withPayload(q.withPayload) }
        if q.hasShardKeySelector { o["shard_key"] = GRPCSelectors.shardKey(q.shardKeySelector) }
        return .object(o)
    }

    static func groupsBody(_ q: Qdrant_QueryPointGroups) throws -> JSONValue {
        var o = try shared(q)
        o["group_by"] = .string(q.groupBy)
        if q.hasGroupSize { o["group_size"] = .int(Int64(clamping: q.groupSize)) }
        if q.hasWithVectors { o["with_vector"] = GRPCSelectors.withVectors(q.withVectors) }
        if q.hasWithPayload { o["with_payload"] = GRPCSelectors.withPayload(q.withPayload) }
        if q.hasWithLookup { o["with_lookup"] = GRPCSelectors.withLookup(q.withLookup) }
        if q.hasShardKeySelector { o["shard_key"] = GRPCSelectors.shardKey(q.shardKeySelector) }
        return .object(o)
    }

    static func prefetch(_ p: Qdrant_PrefetchQuery) throws -> JSONValue {
        .object(try shared(p))
    }

    /// The fields a query, a grouped query and a prefetch share.
    static func shared(_ q: some GRPCQueryFields) throws -> [String: JSONValue] {
        var o: [String: JSONValue] = [:]
        if !q.prefetch.isEmpty { o["prefetch"] = .array(try q.prefetch.map(prefetch)) }
        if q.hasQuery { o["query"] = try query(q.query) }
        if q.hasUsing { o["using"] = .string(q.using) }
        if q.hasFilter { o["filter"] = try GRPCFilters.filter(q.filter) }
        if q.hasParams { o["params"] = try GRPCSelectors.params(q.params) }
        if q.hasScoreThreshold { o["score_threshold"] = .double(Double(q.scoreThreshold)) }
        if q.hasLimit { o["limit"] = .int(Int64(clamping: q.limit)) }
        if q.hasLookupFrom { o["lookup_from"] = GRPCSelectors.lookup(q.lookupFrom) }
        return o
    }

    static func query(_ q: Qdrant_Query) throws -> JSONValue {
        switch q.variant {
        case .nearest(let v)?: return try GRPCVectors.json(v)
        case .recommend(let r)?: return ["recommend": try recommend(r)]
        case .discover(let d)?:
            return ["discover": ["target": try GRPCVectors.json(d.target), "context": try pairs(d.context.pairs)]]
        case .context(let c)?: return ["context": try pairs(c.pairs)]
        case .orderBy(let o)?: return ["order_by": GRPCSelectors.orderBy(o)]
        case .fusion(let f)?: return ["fusion": .string(f == .dbsf ? "dbsf" : "rrf")]
        case .sample?: return ["sample": "random"]
        case .formula(let f)?:
            return ["formula": try GRPCFormulas.expression(f.expression), "defaults": GRPCValues.json(f.defaults)]
        case .nearestWithMmr(let n)?:
            var mmr: [String: JSONValue] = [:]
            if n.mmr.hasDiversity { mmr["diversity"] = .double(Double(n.mmr.diversity)) }
            if n.mmr.hasCandidatesLimit { mmr["candidates_limit"] = .int(Int64(n.mmr.candidatesLimit)) }
            return ["nearest": try GRPCVectors.json(n.nearest), "mmr": .object(mmr)]
        case .rrf(let r)?:
            var o: [String: JSONValue] = [:]
            if r.hasK { o["k"] = .int(Int64(r.k)) }
            if !r.weights.isEmpty { o["weights"] = GRPCVectors.floats(r.weights) }
            return ["rrf": .object(o)]
        case .relevanceFeedback?: throw GRPCValues.invalid("the `relevance_feedback` query is not supported")
        case nil: throw GRPCValues.invalid("a query sets none of its kinds")
        }
    }

    static func recommend(_ r: Qdrant_RecommendInput) throws -> JSONValue {
        var o: [String: JSONValue] = [
            "positive": .array(try r.positive.map(GRPCVectors.json)),
            "negative": .array(try r.negative.map(GRPCVectors.json)),
        ]
        if r.hasStrategy { o["strategy"] = strategy(r.strategy) }
        return .object(o)
    }

    static func strategy(_ s: Qdrant_RecommendStrategy) -> JSONValue {
        switch s {
        case .bestScore: "best_score"
        case .sumScores: "sum_scores"
        default: "average_vector"
        }
    }

    static func pairs(_ list: [Qdrant_ContextInputPair]) throws -> JSONValue {
        .array(try list.map { ["positive": try GRPCVectors.json($0.positive), "negative": try GRPCVectors.json($0.negative)] })
    }
}

/// The fields Qdrant's `QueryPoints`, `QueryPointGroups` and `PrefetchQuery` have in common.
protocol GRPCQueryFields {
    var prefetch: [Qdrant_PrefetchQuery] { get }
    var query: Qdrant_Query { get }
    var hasQuery: Bool { get }
    var using: String { get }
    var hasUsing: Bool { get }
    var filter: Qdrant_Filter { get }
    var hasFilter: Bool { get }
    var params: Qdrant_SearchParams { get }
    var hasParams: Bool { get }
    var scoreThreshold: Float { get }
    var hasScoreThreshold: Bool { get }
    var limit: UInt64 { get }
    var hasLimit: Bool { get }
    var lookupFrom: Qdrant_LookupLocation { get }
    var hasLookupFrom: Bool { get }
}

extension Qdrant_QueryPoints: GRPCQueryFields {}
extension Qdrant_QueryPointGroups: GRPCQueryFields {}
extension Qdrant_PrefetchQuery: GRPCQueryFields {}
