import HSDBCore
import Index

/// Qdrant's distance matrix: a sample of points and, for each, its nearest others in the sample.
public struct DistanceMatrix: Sendable, Equatable {
    /// The sampled points, ascending.
    public let ids: [PointID]
    /// Per sampled point (as `ids`), its `limit` nearest others: (index in `ids`, score),
    /// best first, scored as a search scores.
    public let neighbours: [[(index: Int, score: Float)]]

    public static func == (a: DistanceMatrix, b: DistanceMatrix) -> Bool {
        a.ids == b.ids && a.neighbours.count == b.neighbours.count
            && zip(a.neighbours, b.neighbours).allSatisfy { x, y in x.map(\.index) == y.map(\.index) && x.map(\.score) == y.map(\.score) }
    }
}

extension Collection {
    /// Up to `sample` live points with a dense vector (and matching `filter`), chosen at
    /// random when there are more, and for each the `limit` nearest other sampled points by
    /// exact score (ties by id). Reads every candidate's vector once, then sample^2 distances.
    public func distanceMatrix(sample: Int, limit: Int, filter: Filter?) throws -> DistanceMatrix {
        var candidates: [(PointID, [Float])] = []
        var offset: PointID?
        let s = snapshot
        let filter = filter.map(resolved)
        repeat {
            let page = try scroll(in: s, from: offset, limit: 4096, projection: Projection(withVector: true, withPayload: false), filter: filter)
            for r in page.points { if let v = r.vector { candidates.append((r.id, v)) } }
            offset = page.nextOffset
        } while offset != nil
        if candidates.count > sample { candidates = Array(candidates.shuffled().prefix(max(sample, 0))) }
        candidates.sort { $0.0 < $1.0 }
        let metric = config.metric, dimension = config.dimension
        let neighbours = candidates.indices.map { i -> [(index: Int, score: Float)] in
            var scored: [(index: Int, score: Float)] = []
            for j in candidates.indices where j != i {
                let score = candidates[i].1.withUnsafeBufferPointer { a in
                    candidates[j].1.withUnsafeBufferPointer { b in metric.score(a.baseAddress!, b.baseAddress!, count: dimension) }
                }
                scored.append((j, score))
            }
            scored.sort { x, y in x.score != y.score ? (metric.higherIsBetter ? x.score > y.score : x.score < y.score) : x.index < y.index }
            return Array(scored.prefix(max(limit, 0)))
        }
        return DistanceMatrix(ids: candidates.map(\.0), neighbours: neighbours)
    }
}
