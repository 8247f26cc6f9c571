import HSDBCore
import Index

extension Collection {
    /// Qdrant's best_score and sum_scores recommendations: every live point with a dense
    /// vector (matching `filter`) scored against each example exactly, the best `limit` with
    /// a score of at least `threshold`, the stored examples left out. A scan of the whole
    /// collection (Qdrant walks its graph with the same scorer): exact, and linear in points.
    func scoredRecommendation(
        positive: [(vector: [Float], id: PointID?)], negative: [(vector: [Float], id: PointID?)],
        strategy: Query.RecommendStrategy, limit: Int, threshold: Float?, filter: Filter?, projection: Projection
    ) throws -> [ScoredPoint] {
        guard !positive.isEmpty || !negative.isEmpty else { throw HSDBError.invalidArgument("recommend needs at least one example") }
        let examples = Set((positive + negative).compactMap(\.id))
        let metric = config.metric, dimension = config.dimension
        func similarity(_ a: [Float], _ b: [Float]) -> Float {
            a.withUnsafeBufferPointer { x in
                b.withUnsafeBufferPointer { y in
                    metric == .euclidean ? -Distance.squaredEuclidean(x.baseAddress!, y.baseAddress!, count: dimension)
                        : Distance.dot(x.baseAddress!, y.baseAddress!, count: dimension)
                }
            }
        }
        func score(_ v: [Float]) -> Float {
            switch strategy {
            case .sumScores:
                return positive.reduce(0) { $0 + similarity($1.vector, v) } - negative.reduce(0) { $0 + similarity($1.vector, v) }
            case .bestScore, .averageVector:
                let best = positive.map { similarity($0.vector, v) }.max() ?? -.infinity
                let worst = negative.map { similarity($0.vector, v) }.max() ?? -.infinity
                return best > worst ? Self.squashed(best) : -Self.squashed(worst)
            }
        }
        var top = TopK<PointID>(k: limit, higherIsBetter: true)
        var offset: PointID?
        let s = snapshot
        let filter = filter.map { $0.resolvingText(payloadIndexes) }
        repeat {
            let page = try scroll(in: s, from: offset, limit: 4096, projection: Projection(withVector: true, withPayload: false), filter: filter)
            for r in page.points where !examples.contains(r.id) {
                guard let v = r.vector else { continue }
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
            records[h.item].map { ScoredPoint(id: h.item, version: $0.version, score: h.score, vector: $0.vector, sparse: $0.sparse, payload: $0.payload) }
        }
    }

    /// Qdrant's scaled fast sigmoid, 0.5 (x / (1 + |x|) + 1): into (0, 1), order kept.
    static func squashed(_ x: Float) -> Float { 0.5 * (x / (1 + abs(x)) + 1) }
}
