import HSDBCore
import Index

/// Qdrant's example-based scorers (recommend's best_score and sum_scores, discovery, context),
/// with sim the similarity a search ranks by: the dot product (cosine: of unit vectors), and
/// for euclidean minus the squared distance.
///
/// Over multivectors, sim is MaxSim (the example's vectors against the point's).
struct ExampleScorer {
    let metric: Metric
    let dimension: Int
    var multivector = false

    func similarity(_ a: [Float], _ b: [Float]) -> Float {
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                multivector ? MaxSim.score(x, y, dimension: dimension, metric: metric)
                    : metric == .euclidean ? -Distance.squaredEuclidean(x.baseAddress!, y.baseAddress!, count: dimension)
                    : Distance.dot(x.baseAddress!, y.baseAddress!, count: dimension)
            }
        }
    }

    /// x / (1 + |x|), into (-1, 1), order kept.
    static func sigmoid(_ x: Float) -> Float { x / (1 + abs(x)) }
    /// Into (0, 1).
    static func scaledSigmoid(_ x: Float) -> Float { 0.5 * (sigmoid(x) + 1) }

    /// best_score: the best positive's similarity, squashed, when above the best negative's;
    /// else minus the best negative's. sum_scores: positives' sum minus negatives' sum.
    func recommend(_ v: [Float], positive: [[Float]], negative: [[Float]], strategy: Query.RecommendStrategy) -> Float {
        if strategy == .sumScores {
            return positive.reduce(0) { $0 + similarity($1, v) } - negative.reduce(0) { $0 + similarity($1, v) }
        }
        let best = positive.map { similarity($0, v) }.max() ?? -.infinity
        let worst = negative.map { similarity($0, v) }.max() ?? -.infinity
        return best > worst ? Self.scaledSigmoid(best) : -Self.scaledSigmoid(worst)
    }

    /// The number of pairs `v` is on the positive side of, minus those on the negative side,
    /// plus its similarity to the target squashed into (0, 1).
    func discover(_ v: [Float], target: [Float], pairs: [(positive: [Float], negative: [Float])]) -> Float {
        var rank = 0
        for p in pairs {
            let (a, b) = (similarity(p.positive, v), similarity(p.negative, v))
            rank += a > b ? 1 : a < b ? -1 : 0
        }
        return Float(rank) + Self.scaledSigmoid(similarity(target, v))
    }

    /// Sum over the pairs of sigmoid(min(sim(positive) - sim(negative) - epsilon, 0)): 0 on
    /// the positive side of every pair, lower the further on the negative sides.
    func context(_ v: [Float], pairs: [(positive: [Float], negative: [Float])]) -> Float {
        pairs.reduce(0) { sum, p in
            sum + Self.sigmoid(min(similarity(p.positive, v) - similarity(p.negative, v) - .ulpOfOne, 0))
        }
    }
}

extension Collection {
    /// Every live point with a dense vector (matching `filter`, not in `exclude`) scored by
    /// `score`, the best `limit` with a score of at least `threshold`, best first. A scan of
    /// the whole collection (Qdrant walks its graph with the same scorers): exact, and linear
    /// in points.
    func scoredScan(
        lane: Int = 0, exclude: Set<PointID>, limit: Int, threshold: Float?, filter: Filter?, projection: Projection,
        _ score: ([Float]) -> Float
    ) throws -> [ScoredPoint] {
        var top = TopK<PointID>(k: limit, higherIsBetter: true)
        var offset: PointID?
        let s = snapshot
        let filter = filter.map(resolved)
        repeat {
            let page = try scroll(in: s, from: offset, limit: 4096, projection: Projection(withVector: true, withPayload: false), filter: filter)
            for r in page.points where !exclude.contains(r.id) {
                guard let v = denseVector(of: r, lane: lane) else { continue }
                let sc = score(v)
                if let threshold, sc < threshold { continue }
                top.insert(sc, r.id)
            }
            offset = page.nextOffset
        } while offset != nil
        let hits = top.sorted()
        var records: [PointID: Record] = [:]
        for r in try get(ids: hits.map(\.item), projection: projection) { records[r.id] = r }
        return hits.compactMap { h in
            records[h.item].map { ScoredPoint(
                    id: h.item, version: $0.version, score: h.score, vector: $0.vector, sparse: $0.sparse, payload: $0.payload, named: $0.named) }
        }
    }

    /// A recommendation by best_score or sum_scores, a discovery or a context search, by a
    /// scan; the stored examples are left out. Nil for any other target.
    func exampleSearch(
        _ target: Query.Target, lane: Int = 0, limit: Int, threshold: Float?, filter: Filter?, projection: Projection
    ) throws -> [ScoredPoint]? {
        let (dimension, metric) = config.dense(lane)
        let scorer = ExampleScorer(metric: metric, dimension: dimension, multivector: config.isMultivector(lane))
        var exclude = Set<PointID>()
        func vectors(_ examples: [Query.Example]) throws -> [[Float]] {
            try exampleVectors(examples, lane: lane, asStored: true).map { v in
                if let id = v.id { exclude.insert(id) }
                return v.vector
            }
        }
        func pairs(_ context: [Query.ContextPair]) throws -> [(positive: [Float], negative: [Float])] {
            try context.map { p in
                let both = try vectors([p.positive, p.negative])
                return (both[0], both[1])
            }
        }
        let score: ([Float]) -> Float
        switch target {
        case .recommend(let positive, let negative, let strategy) where strategy != .averageVector:
            guard !positive.isEmpty || !negative.isEmpty else { throw HSDBError.invalidArgument("recommend needs at least one example") }
            let (p, n) = (try vectors(positive), try vectors(negative))
            score = { scorer.recommend($0, positive: p, negative: n, strategy: strategy) }
        case .discover(let target, let context):
            let (t, c) = (try vectors([target])[0], try pairs(context))
            score = { scorer.discover($0, target: t, pairs: c) }
        case .context(let context):
            let c = try pairs(context)
            score = { scorer.context($0, pairs: c) }
        default:
            return nil
        }
        return try scoredScan(lane: lane, exclude: exclude, limit: limit, threshold: threshold, filter: filter, projection: projection, score)
    }
}
