import HSDB
import HSDBCore

/// A search as `POST .../points/query` and the legacy `POST .../points/search` describe it.
struct QueryRequest {
    typealias Target = Query.Target
    typealias Example = Query.Example
    typealias Fusion = Query.Fusion
    typealias MMR = Query.MMR

    var target: Target = .none
    /// Which vector the target is compared with.
    var using = VectorNaming.Using.dense
    var mmr: MMR?
    var filter: Filter?
    var parameters = SearchParameters()
    var limit = 10
    var offset = 0
    var scoreThreshold: Float?
    /// `using` as the request gave it.
    var usingGiven: String?
    /// `lookup_from`: where the example ids' vectors are read.
    var lookupFrom: LookupFrom?
    /// `params.idf.corpus`: the points whose statistics weigh a sparse query.
    var idfCorpus: Filter?
    /// `params.quantization.oversampling` as asked (strict mode bounds it).
    var requestedOversampling: Double?
    var payload = PayloadSelector.none
    var withVector = VectorNaming.Selection.none
    /// Sub-queries whose results this query fuses or re-scores.
    var prefetch: [QueryRequest] = []
    /// The collection's vector names: how vectors are read from the request and written back.
    var naming = VectorNaming.unnamed

    /// What the engine runs (`Collection.query`): the request without its HTTP-only fields.
    var engineQuery: Query {
        var q = Query(
            target, using: using, limit: limit, offset: offset, filter: filter, scoreThreshold: scoreThreshold,
            parameters: parameters, prefetch: prefetch.map(\.engineQuery), mmr: mmr)
        q.idfCorpus = idfCorpus
        return q
    }

    /// Qdrant's default (its `DEFAULT_RRF_K`).
    static let defaultRRFK = 2
    static let maxPrefetchDepth = 8

    /// `POST .../points/query`.
    static func query(_ body: JSONFields, naming: VectorNaming, maxResults: Int, available: () -> Int) throws -> QueryRequest {
        var q = try common(body, naming: naming, maxResults: maxResults, available: available)
        if body["limit"] == .int(0) { throw APIError.validation("internal.limit", "value 0 invalid, must be 1 or larger") }
        q.lookupFrom = try LookupFrom.decode(body)
        if let value = body["prefetch"] { q.prefetch = try prefetches(value, path: "prefetch", naming: naming, maxResults: maxResults, depth: 1) }
        if let query = body["query"] {
            q.usingGiven = try body.string("using")
            q.using = try usedVector(body, query, naming)
            try q.decodeQuery(query)
        }
        if q.scoreThreshold != nil, case .orderBy = q.target {
            throw APIError(status: .badRequest, message: "Bad request: Can't use score_threshold with an order_by query.")
        }
        if q.scoreThreshold != nil, case .none = q.target {
            // Qdrant's text (its query planner's check), with its 400.
            throw APIError(status: .badRequest, message:
                "Bad request: A query is needed to use the score_threshold. Can't have score_threshold without defining a query.")
        }
        try q.checkPrefetchUse()
        return q
    }

    /// `prefetch`: one object or a list, each a query of its own (`prefetch`, `query`,
    /// `using`, `filter`, `params`, `score_threshold`, `limit`).
    private static func prefetches(
        _ value: JSONValue, path: String, naming: VectorNaming, maxResults: Int, depth: Int
    ) throws -> [QueryRequest] {
        guard depth <= maxPrefetchDepth else { throw APIError.wrongInput("\(path): prefetches nest deeper than \(maxPrefetchDepth) levels") }
        let list: [JSONValue]
        switch value {
        case .array(let a): list = a
        case .object: list = [value]
        default: throw JSONFields.typeError(path, "a prefetch object or a list of them", value)
        }
        let allowed: Set<String> = ["prefetch", "query", "using", "filter", "params", "score_threshold", "limit", "lookup_from"]
        return try list.enumerated().map { i, item in
            let p = try JSONFields(item, path: "\(path)[\(i)]")
            for key in p.values.keys.sorted() where !allowed.contains(key) { throw APIError.format("\(p.fieldPath(key)): unknown field") }
            var q = try common(p, naming: naming, maxResults: maxResults, available: { maxResults })
            q.lookupFrom = try LookupFrom.decode(p)
            if let nested = p["prefetch"] {
                q.prefetch = try prefetches(nested, path: p.fieldPath("prefetch"), naming: naming, maxResults: maxResults, depth: depth + 1)
            }
            if let query = p["query"] {
                q.usingGiven = try p.string("using")
                q.using = try usedVector(p, query, naming)
                try q.decodeQuery(query)
            }
            try q.checkPrefetchUse()  // without `query` or prefetches: the first `limit` points by id
            return q
        }
    }

    /// The vector `using` names; a fusion, an order, a sample or a formula compares no vector, so there it
    /// is not looked up (a fusion with one named is refused later, `checkFusionUsing`, after
    /// the lookups, in Qdrant's order).
    private static func usedVector(_ body: JSONFields, _ query: JSONValue, _ naming: VectorNaming) throws -> VectorNaming.Using {
        let asked = try body.string("using")
        if case .object(let o) = query, ["fusion", "rrf", "order_by", "sample", "formula"].contains(where: { o[$0] != nil }) {
            return (try? naming.using(asked)) ?? .dense
        }
        return try naming.using(asked)
    }

    /// Qdrant's answer for a fusion with `using` other than the default vector, at any level.
    func checkFusionUsing() throws {
        if case .fusion = target, let named = usingGiven, !named.isEmpty {
            throw APIError(status: .badRequest, message: "Bad request: Fusion queries cannot be combined with the 'using' field.")
        }
        for p in prefetch { try p.checkFusionUsing() }
    }

    /// Fusion needs prefetches; a query over prefetches re-scores their results, so it cannot
    /// ask for MMR or an id order.
    private func checkPrefetchUse() throws {
        if case .fusion = target, prefetch.isEmpty {
            try checkFusionUsing()  // Qdrant's first complaint
            throw APIError.wrongInput("fusion needs `prefetch` queries to fuse")
        }
        if case .formula = target, prefetch.isEmpty {  // Qdrant's text (its query planner's)
            throw APIError.wrongInput("Validation failed: cannot apply Formula without prefetches")
        }
        guard !prefetch.isEmpty else { return }
        if mmr != nil { throw APIError.unsupported("`mmr` over prefetches") }
        if case .none = target {  // Qdrant's text (its query planner's check), with its 400
            throw APIError(status: .badRequest, message:
                "Bad request: A query is needed to merge the prefetches. Can't have prefetches without defining a query.")
        }
    }

    /// `vector` is a list (the default vector ""), `{"name": ..., "vector": [...] or
    /// {"indices", "values"}}` (Qdrant's `NamedVector` and `NamedSparseVector`) or
    /// `{"name": [...]}`.
    static func search(_ body: JSONFields, naming: VectorNaming, maxResults: Int, available: () -> Int) throws -> QueryRequest {
        var q = try common(body, naming: naming, maxResults: maxResults, available: available)
        guard let vector = body["vector"] else { throw APIError.format("missing field `vector`") }
        if case .object(let o) = vector, case .string(let name)? = o["name"], let inner = o["vector"], o.count == 2 {
            q.using = try naming.using(name)
            try q.setVector(inner, path: "vector.vector")
        } else if case .object(let o) = vector, o.count == 1, let (name, inner) = o.first, naming.laneNames.contains(name) {
            q.using = .named(name)
            q.target = .vector(try naming.lane(name, inner, path: "vector[\"\(name)\"]", query: true))
        } else {
            q.target = .vector(try naming.pointVector(vector, path: "vector"))
            if case .array = vector, naming.name != "", naming.multivectors[""] != nil { q.using = .named("") }  // an unnamed multivector
        }
        return q
    }

    /// `POST .../points/recommend` (legacy): `{"positive", "negative", "strategy", "using", ...}`.
    static func recommend(_ body: JSONFields, naming: VectorNaming, maxResults: Int, available: () -> Int) throws -> QueryRequest {
        var q = try common(body, naming: naming, maxResults: maxResults, available: available)
        q.lookupFrom = try LookupFrom.decode(body)
        q.using = try naming.using(try body.string("using"))
        let shared: Set<String> = ["filter", "params", "limit", "offset", "score_threshold", "with_payload", "with_vector", "using", "shard_key"]
        try q.decodeRecommend(try JSONFields(.object(body.values.filter { !shared.contains($0.key) }), path: body.path))
        return q
    }

    /// `POST .../points/discover` (legacy): `{"target", "context": [pairs], "using", ...}`;
    /// without a target, a context search.
    static func discover(_ body: JSONFields, naming: VectorNaming, maxResults: Int, available: () -> Int) throws -> QueryRequest {
        var q = try common(body, naming: naming, maxResults: maxResults, available: available)
        q.lookupFrom = try LookupFrom.decode(body)
        q.using = try naming.using(try body.string("using"))
        guard q.using.isDense else { throw APIError.unsupported("`discover` over a sparse vector") }
        let pairs = try q.contextPairs(body["context"], path: "context")
        if let t = body["target"], t != .null {
            q.target = .discover(target: try q.example(t, path: "target"), context: pairs)
        } else {
            q.target = .context(pairs)
        }
        return q
    }

    /// `available` counts the collection's points; it is asked only for a limit or offset
    /// over `maxResults` (see `JSONFields.resultCount`).
    private static func common(_ body: JSONFields, naming: VectorNaming, maxResults: Int, available: () -> Int) throws -> QueryRequest {
        var q = QueryRequest()
        q.naming = naming
        q.limit = try body.resultCount("limit", max: maxResults, available: available) ?? 10
        q.offset = try body.resultCount("offset", max: maxResults, available: available) ?? 0
        if q.limit + q.offset > maxResults {
            // Only the points there are can be returned.
            let n = available()
            q.limit = max(1, min(q.limit, n - min(q.offset, n)))
            guard q.limit + q.offset <= maxResults else {
                throw APIError.wrongInput("limit + offset is \(q.limit + q.offset); the limit is \(maxResults)")
            }
        }
        if let f = body["filter"] { q.filter = try FilterDecoding.filter(f, path: body.fieldPath("filter")) }
        if let t = try body.number("score_threshold") { q.scoreThreshold = Float(t) }
        q.payload = try PayloadSelector(body.values["with_payload"], path: "with_payload", default: false)
        q.withVector = try naming.selection(body.values["with_vector"], path: "with_vector")
        if let params = try body.object("params") {
            q.idfCorpus = try idfCorpus(params)
            q.parameters.ef = try params.count("hnsw_ef", max: 100_000)
            if q.parameters.ef == 0 { throw APIError.validation("params.hnsw_ef", "value 0 invalid, must be 1 or larger") }
            q.parameters.exact = try params.bool("exact") ?? false
            if let quantization = try params.object("quantization") {
                if try quantization.bool("ignore") == true {
                    q.parameters.binaryOversampling = 0
                } else if let oversampling = try quantization.number("oversampling") {
                    guard oversampling >= 1, oversampling <= 1000 else {
                        throw APIError.wrongInput("params.quantization.oversampling must be between 1 and 1000, got \(oversampling)")
                    }
                    q.parameters.binaryOversampling = Int(oversampling.rounded(.up))
                    q.requestedOversampling = oversampling
                }
                // `rescore`: hsdb always rescores candidates with the full vectors.
            }
        }
        return q
    }

    /// Every `order_by` key (here and in the prefetches) has a range index, or Qdrant's 400.
    func checkOrderIndexes(_ indexes: [String: PayloadIndexType]) throws {
        if case .orderBy(let order) = target { try OrderByDecoding.checkIndex(order, indexes) }
        for p in prefetch { try p.checkOrderIndexes(indexes) }
    }

    /// `params.idf`: `"global"` (the whole collection's statistics) or `{"corpus": filter}`.
    private static func idfCorpus(_ params: JSONFields) throws -> Filter? {
        guard let idf = params["idf"], idf != .string("global") else { return nil }
        let o = try JSONFields(idf, path: params.fieldPath("idf"))
        for key in o.values.keys.sorted() where key != "corpus" { throw APIError.format("\(o.fieldPath(key)): unknown field") }
        guard let corpus = o["corpus"] else { throw APIError.format("\(o.path): missing field `corpus`") }
        return try FilterDecoding.filter(corpus, path: o.fieldPath("corpus"))
    }

    /// A query vector for the vector `using` names: a list for the dense one, `{"indices",
    /// "values"}` for a sparse one.
    private mutating func setVector(_ value: JSONValue, path: String) throws {
        switch using {
        case .dense:
            if case .object(let o) = value, o["indices"] != nil || o["values"] != nil {
                throw APIError.wrongInput("\(path): a sparse vector for the dense vector `\(naming.name)`")
            }
            // A list is the vector `using` names; an object, its named form.
            if case .array = value { target = .vector(try PointDecoding.dense(value, path: path)) } else {
                target = .vector(try naming.pointVector(value, path: path))
            }
        case .named(let name):
            if case .object(let o) = value, o["indices"] != nil || o["values"] != nil {
                throw APIError.wrongInput("\(path): a sparse vector for the dense vector `\(name)`")
            }
            if case .array = value { target = .vector(try naming.lane(name, value, path: path, query: true)) } else {
                target = .vector(try naming.pointVector(value, path: path, lane: name))
            }
        case .sparse(let name):
            guard case .object = value else { throw APIError.wrongInput("\(path): sparse vector `\(name)` needs `indices` and `values`") }
            target = .sparse(try VectorNaming.sparseVector(value, path: path))
        }
    }

    /// `{"positive": [...], "negative": [...], "strategy": "average_vector" | "best_score" |
    /// "sum_scores"}`: examples are point ids or dense vectors.
    private mutating func decodeRecommend(_ r: JSONFields) throws {
        for key in r.values.keys.sorted() where !["positive", "negative", "strategy"].contains(key) {
            throw APIError.format("\(r.fieldPath(key)): unknown field, expected `positive`, `negative`, `strategy`")
        }
        guard using.isDense else { throw APIError.unsupported("`recommend` over a sparse vector") }
        let strategy: Query.RecommendStrategy
        switch try r.string("strategy") {
        case nil, "average_vector": strategy = .averageVector
        case "best_score": strategy = .bestScore
        case "sum_scores": strategy = .sumScores
        case let other?:
            throw APIError.format("\(r.fieldPath("strategy")): unknown variant `\(other)`, expected one of `average_vector`, `best_score`, `sum_scores`")
        }
        func examples(_ key: String) throws -> [Example] {
            guard let list = try r.array(key) else { return [] }
            return try list.enumerated().map { i, v in try example(v, path: r.fieldPath("\(key)[\(i)]")) }
        }
        let positive = try examples("positive"), negative = try examples("negative")
        guard !positive.isEmpty || !negative.isEmpty else {  // Qdrant's RecommendInput validation
            throw APIError.validation("\(r.path).positives, negatives", "At least one positive or negative vector/id must be provided")
        }
        // average_vector needs a positive example; the others score against negatives alone too.
        guard !positive.isEmpty || (strategy != .averageVector && !negative.isEmpty) else {
            throw APIError.wrongInput("recommend needs at least one positive example")
        }
        target = .recommend(positive: positive, negative: negative, strategy: strategy)
    }

    /// An example: a point id, or a dense vector (a list, or by name).
    private func example(_ v: JSONValue, path: String) throws -> Example {
        switch v {
        case .int, .string: return .point(try PointDecoding.id(v, path: path))
        case .array:  // the `using` vector
            if case .named(let name) = using { return .vector(try naming.lane(name, v, path: path, query: true)) }
            return .vector(try PointDecoding.dense(v, path: path))
        default:
            if case .named(let name) = using { return .vector(try naming.pointVector(v, path: path, lane: name)) }
            return .vector(try naming.pointVector(v, path: path))
        }
    }

    /// `{"positive", "negative"}` pairs: a list of them, one, or null (none).
    private func contextPairs(_ value: JSONValue?, path: String) throws -> [Query.ContextPair] {
        let list: [JSONValue]
        switch value {
        case nil, .null?: return []
        case .array(let items)?: list = items
        case let one?: list = [one]
        }
        return try list.enumerated().map { i, item in
            let p = try JSONFields(item, path: "\(path)[\(i)]")
            for key in p.values.keys.sorted() where key != "positive" && key != "negative" {
                throw APIError.format("\(p.fieldPath(key)): unknown field, expected `positive` and `negative`")
            }
            guard let positive = p["positive"] else { throw APIError.format("\(p.path): missing field `positive`") }
            guard let negative = p["negative"] else { throw APIError.format("\(p.path): missing field `negative`") }
            return Query.ContextPair(
                positive: try example(positive, path: p.fieldPath("positive")), negative: try example(negative, path: p.fieldPath("negative")))
        }
    }

    /// `{"discover": {"target", "context"}}` or `{"context": pairs}`: Qdrant's discovery and
    /// context searches, over the dense vector.
    private mutating func decodeDiscovery(_ fields: JSONFields) throws -> Bool {
        if let d = try fields.object("discover") {
            guard using.isDense else { throw APIError.unsupported("`discover` over a sparse vector") }
            guard let t = d["target"] else { throw APIError.format("query.discover: missing field `target`") }
            target = .discover(
                target: try example(t, path: "query.discover.target"), context: try contextPairs(d["context"], path: "query.discover.context"))
            return true
        }
        if fields.has("context") {
            guard using.isDense else { throw APIError.unsupported("`context` over a sparse vector") }
            target = .context(try contextPairs(fields["context"], path: "query.context"))
            return true
        }
        return false
    }

    private mutating func decodeQuery(_ value: JSONValue) throws {
        switch value {
        case .array: try setVector(value, path: "query")
        case .int, .string: target = .point(try PointDecoding.id(value, path: "query"))
        case .object(let o):
            let fields = try JSONFields(value, path: "query")
            if o["indices"] != nil || o["values"] != nil { return try setVector(value, path: "query") }
            if let recommend = try fields.object("recommend") { return try decodeRecommend(recommend) }
            if let order = fields["order_by"] {
                return target = .orderBy(try OrderByDecoding.order(order, path: "query.order_by", indexes: nil))
            }
            if let sample = fields["sample"] {
                guard sample == .string("random") else { throw APIError.format("query.sample: unknown variant \(sample), expected `random`") }
                return target = .sample
            }
            if fields.has("formula") { return target = .formula(try FormulaDecoding.query(fields)) }
            if try decodeDiscovery(fields) { return }
            if let fusion = fields["fusion"] {
                switch fusion {
                case .string("rrf"): target = .fusion(.rrf(k: Self.defaultRRFK))
                case .string("dbsf"): target = .fusion(.dbsf)
                default: throw APIError.format("query.fusion: unknown variant \(fusion), expected one of `rrf`, `dbsf`")
                }
                return
            }
            if let rrf = try fields.object("rrf") {
                for key in rrf.values.keys.sorted() where key != "k" && key != "weights" {
                    throw APIError.format("\(rrf.fieldPath(key)): unknown field, expected `k` or `weights`")
                }
                let k = try rrf.count("k", max: 1_000_000) ?? Self.defaultRRFK
                guard k >= 1 else { throw APIError.validation("query.rrf.k", "value 0 invalid, must be 1 or larger") }
                let weights = try rrf.array("weights")?.enumerated().map { i, w -> Float in
                    switch w {
                    case .int(let n): return Float(n)
                    case .double(let d) where d.isFinite: return Float(d)
                    default: throw JSONFields.typeError(rrf.fieldPath("weights[\(i)]"), "a number", w)
                    }
                }
                target = .fusion(.rrf(k: k, weights: weights))
                return
            }
            guard let nearest = fields["nearest"] else {
                let kind = o.keys.sorted().first ?? "empty"
                throw APIError.unsupported("query `\(kind)` (supported: nearest, recommend, discover, context, fusion, rrf, formula, order_by, sample, a vector, or a point id)")
            }
            switch nearest {
            case .int, .string: target = .point(try PointDecoding.id(nearest, path: "query.nearest"))
            default: try setVector(nearest, path: "query.nearest")
            }
            if let m = try fields.object("mmr") {
                guard using.isDense else { throw APIError.unsupported("`mmr` over a sparse vector") }
                let diversity = try m.number("diversity") ?? 0.5
                guard (0...1).contains(diversity) else { throw APIError.wrongInput("query.mmr.diversity must be between 0 and 1, got \(diversity)") }
                let candidates = try m.count("candidates_limit", max: 16_384) ?? 100
                mmr = MMR(diversity: Float(diversity), candidates: max(candidates, limit + offset))
            }
        default:
            throw JSONFields.typeError("query", "a vector, a point id, or an object", value)
        }
    }
}
