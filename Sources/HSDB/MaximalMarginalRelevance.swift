import Index

/// Maximal marginal relevance (Carbonell and Goldstein, 1998), as Qdrant's `mmr` query
/// defines it: from the candidates, greedily take the one maximising
/// `(1 - diversity) * sim(query, c) - diversity * max sim(c, already taken)`. Similarity is
/// the collection's score (negated distance for euclidean). Hits keep their score to the query.
enum MaximalMarginalRelevance {
    /// `vector`: the candidate's vector the similarities are taken over (by default its first
    /// dense one).
    static func select(
        _ candidates: [ScoredPoint], vector: (ScoredPoint) -> [Float]? = { $0.vector }, metric: Metric, diversity: Float, count: Int
    ) -> [ScoredPoint] {
        guard candidates.count > 1, diversity > 0 else { return Array(candidates.prefix(count)) }
        let sign: Float = metric.higherIsBetter ? 1 : -1
        let relevance = candidates.map { sign * $0.score }
        var maxSimilarityToTaken = [Float](repeating: -.infinity, count: candidates.count)
        var taken = [Bool](repeating: false, count: candidates.count)
        var result: [ScoredPoint] = []
        while result.count < min(count, candidates.count) {
            var best = -1
            var bestScore = -Float.infinity
            for i in candidates.indices where !taken[i] {
                let penalty = result.isEmpty ? 0 : maxSimilarityToTaken[i]
                let score = (1 - diversity) * relevance[i] - diversity * penalty
                if best < 0 || score > bestScore { (best, bestScore) = (i, score) }
            }
            taken[best] = true
            result.append(candidates[best])
            guard let chosen = vector(candidates[best]) else { continue }
            for i in candidates.indices where !taken[i] {
                guard let v = vector(candidates[i]) else { continue }
                let sim = chosen.withUnsafeBufferPointer { a in
                    v.withUnsafeBufferPointer { b in sign * metric.score(a.baseAddress!, b.baseAddress!, count: a.count) }
                }
                maxSimilarityToTaken[i] = max(maxSimilarityToTaken[i], sim)
            }
        }
        return result
    }
}
