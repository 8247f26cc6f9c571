import HSDBCore

/// Fuses the ranked lists of a query's prefetches into one (DESIGN.md, "Hybrid queries");
/// a sharded collection fuses its merged prefetch lists with the same code.
public enum ScoreFusion {
    /// One prefetch's hits, best first; `higherIsBetter` false for euclidean distances.
    public struct Ranked: Sendable {
        public var hits: [ScoredPoint]
        public var higherIsBetter: Bool

        public init(hits: [ScoredPoint], higherIsBetter: Bool) {
            self.hits = hits
            self.higherIsBetter = higherIsBetter
        }
    }

    /// (id, fused score), best first; ties in ascending id order so answers are stable.
    public static func fuse(_ lists: [Ranked], _ fusion: Query.Fusion) -> [(id: PointID, score: Float)] {
        var scores: [PointID: Float] = [:]
        switch fusion {
        case .rrf(let k, let weights):
            for (i, list) in lists.enumerated() {
                let weight = weights.map { i < $0.count ? $0[i] : 1 } ?? 1
                guard weight > 0 else { continue }
                for (p, hit) in list.hits.enumerated() { scores[hit.id, default: 0] += 1 / (Float(p + 1) / weight + Float(k) - 1) }
            }
        case .dbsf:
            // Qdrant's normalisation: the sample standard deviation, scores outside
            // mean +- 3 sd are not clamped, one hit (or all equal) scores 0.5.
            for list in lists where !list.hits.isEmpty {
                let values = list.hits.map { list.higherIsBetter ? Double($0.score) : -Double($0.score) }
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.count < 2 ? 0 : values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
                let (low, high) = (mean - 3 * variance.squareRoot(), mean + 3 * variance.squareRoot())
                for (hit, v) in zip(list.hits, values) {
                    scores[hit.id, default: 0] += Float(high > low ? (v - low) / (high - low) : 0.5)
                }
            }
        }
        return scores.map { (id: $0.key, score: $0.value) }.sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
    }
}
