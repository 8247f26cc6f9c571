import HSDB
import HSDBCore

/// A search as `POST .../points/query` and the legacy `POST .../points/search` describe it.
struct QueryRequest {
    enum Target {
        /// No query: points in id order (score 0).
        case none
        case vector([Float])
        /// The vector of a stored point; that point is left out of the results.
        case point(PointID)
    }

    struct MMR {
        var diversity: Float
        var candidates: Int
    }

    var target: Target = .none
    var mmr: MMR?
    var filter: Filter?
    var parameters = SearchParameters()
    var limit = 10
    var offset = 0
    var scoreThreshold: Float?
    var payload = PayloadSelector.none
    var withVector = false
    /// The collection's vector name: how vectors are read from the request and written back.
    var naming = VectorNaming.unnamed

    /// `POST .../points/query`.
    static func query(_ body: JSONFields, naming: VectorNaming, maxResults: Int, available: () -> Int) throws -> QueryRequest {
        var q = try common(body, naming: naming, maxResults: maxResults, available: available)
        for unsupported in ["prefetch", "lookup_from"] where body.has(unsupported) { throw APIError.unsupported("`\(unsupported)`") }
        try naming.check(using: try body.string("using"))
        if let query = body["query"] { try q.decodeQuery(query) }
        if q.scoreThreshold != nil, case .none = q.target {
            // Qdrant's text (its query planner's check), with its 400.
            throw APIError(status: .badRequest, message:
                "Bad request: A query is needed to use the score_threshold. Can't have score_threshold without defining a query.")
        }
        return q
    }

    /// `POST .../points/search` (legacy): `{"vector": [...], ...}`.
    /// `vector` is a list (the default vector ""), `{"name": ..., "vector": [...]}` (Qdrant's
    /// `NamedVector`) or `{"name": [...]}`.
    static func search(_ body: JSONFields, naming: VectorNaming, maxResults: Int, available: () -> Int) throws -> QueryRequest {
        var q = try common(body, naming: naming, maxResults: maxResults, available: available)
        guard let vector = body["vector"] else { throw APIError.format("missing field `vector`") }
        if case .object(let o) = vector, case .string(let name)? = o["name"], let inner = o["vector"], o.count == 2 {
            if case .object = inner { throw APIError.unsupported("vector.vector: sparse vectors") }
            try naming.check(using: name)
            q.target = .vector(try PointDecoding.dense(inner, path: "vector.vector"))
        } else {
            q.target = .vector(try naming.pointVector(vector, path: "vector"))
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
        if let f = body["filter"] { q.filter = try FilterDecoding.filter(f, path: "filter") }
        if let t = try body.number("score_threshold") { q.scoreThreshold = Float(t) }
        q.payload = try PayloadSelector(body.values["with_payload"], path: "with_payload", default: false)
        q.withVector = try naming.wantsVector(body.values["with_vector"], path: "with_vector")
        if let params = try body.object("params") {
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
                }
                // `rescore`: hsdb always rescores candidates with the full vectors.
            }
        }
        return q
    }

    private mutating func decodeQuery(_ value: JSONValue) throws {
        switch value {
        case .array: target = .vector(try PointDecoding.dense(value, path: "query"))
        case .int, .string: target = .point(try PointDecoding.id(value, path: "query"))
        case .object(let o):
            let fields = try JSONFields(value, path: "query")
            guard let nearest = fields["nearest"] else {
                let kind = o.keys.sorted().first ?? "empty"
                throw APIError.unsupported("query `\(kind)` (supported: nearest, a vector, or a point id)")
            }
            switch nearest {
            case .int, .string: target = .point(try PointDecoding.id(nearest, path: "query.nearest"))
            // A list is the vector `using` names (checked above).
            case .array: target = .vector(try PointDecoding.dense(nearest, path: "query.nearest"))
            default: target = .vector(try naming.pointVector(nearest, path: "query.nearest"))
            }
            if let m = try fields.object("mmr") {
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
