import Foundation
import HSDBCore
import Index
import Segments

/// Qdrant's MaxSim over multivectors: for each of the query's vectors, the best similarity to
/// any of the point's, summed. Similarity as Qdrant's: the dot product (cosine: of the
/// normalised vectors), minus the squared distance for euclidean (Qdrant skips the square
/// root there too: the ranking is the same). Higher is better for every metric.
enum MaxSim {
    static func score(_ query: UnsafeBufferPointer<Float>, _ point: UnsafeBufferPointer<Float>, dimension: Int, metric: Metric) -> Float {
        guard let q = query.baseAddress, let p = point.baseAddress else { return -.infinity }
        var sum: Float = 0
        for i in stride(from: 0, to: query.count, by: dimension) {
            var best = -Float.infinity
            for j in stride(from: 0, to: point.count, by: dimension) {
                let sim = metric == .euclidean
                    ? -Distance.squaredEuclidean(q + i, p + j, count: dimension) : Distance.dot(q + i, p + j, count: dimension)
                best = max(best, sim)
            }
            sum += best
        }
        return sum
    }
}

extension Collection {
    /// Segments with fewer points, or vectors of fewer dimensions, are scored exactly: the
    /// codes of so few bits rank too coarsely to pick candidates from.
    static let multivectorCodePoints = 1_000
    static let multivectorCodeDimension = 64

    /// The `limit` live points with the best MaxSim against `query` (one or more vectors of
    /// lane `lane`'s dimension, one after another) in multivector lane `lane`, best first.
    /// Memtable points and small segments are scored exactly; in a larger segment the
    /// `limit x oversampling` best by the codes (`estimatedMaxSim`) are, unless the search is
    /// exact or oversampling is 0.
    func multivectorSearch(
        _ query: [Float], lane: Int, limit: Int, projection: Projection, scoreThreshold: Float?, filter: Filter?,
        parameters: SearchParameters = SearchParameters()
    ) throws -> [ScoredPoint] {
        let (dimension, metric) = config.dense(lane)
        guard !query.isEmpty, query.count % dimension == 0 else {
            throw HSDBError.invalidArgument("Vector dimension error: expected dim: \(dimension), got \(query.count)")
        }
        var normalised: [Float] = []
        for start in stride(from: 0, to: query.count, by: dimension) {
            let v = Array(query[start..<(start + dimension)])
            try Validation.checkVector(v, dimension: dimension, context: "query")
            normalised += metric == .cosine ? Distance.normalized(v) : v
        }
        let name = config.namedVectors[lane - 1].name
        let s = snapshot
        var top = TopK<Snapshot.Found>(k: limit, higherIsBetter: true)
        normalised.withUnsafeBufferPointer { q in
            s.forEachLiveMemtablePoint { id, p in
                guard let v = p.multivectors[name], filter?.matches(id: id, payload: p.payload, has: p.has) ?? true else { return }
                top.insert(v.withUnsafeBufferPointer { MaxSim.score(q, $0, dimension: dimension, metric: metric) }, .memtable(id, p))
            }
        }
        let oversampling = parameters.exact ? 0 : parameters.binaryOversampling ?? 4
        for h in s.segments {
            let points = h.segment.lanes[lane - 1], mask = try filter.map { try matching(h, $0, lsn: s.lsn) }
            var ordinals = (0..<h.count).filter { o in (mask?.accepts(UInt32(o)) ?? h.isAlive(o, at: s.lsn)) && points.hasVector(at: o) }
            if oversampling > 0, h.count >= Self.multivectorCodePoints, dimension >= Self.multivectorCodeDimension {
                ordinals = Self.codeCandidates(normalised, points, h.lane(lane).quantizer, ordinals, count: limit * oversampling)
            }
            normalised.withUnsafeBufferPointer { q in
                for o in ordinals {
                    top.insert(points.withMultivector(at: o) { MaxSim.score(q, $0, dimension: dimension, metric: metric) }, .segment(h, o))
                }
            }
        }
        return try top.sorted().compactMap { hit in
            // Qdrant reports a euclidean MaxSim as the square root of its magnitude, as it
            // reports a distance: lower is better there, as for the lane's plain searches.
            let score = metric == .euclidean ? abs(hit.score).squareRoot() : hit.score
            if let t = scoreThreshold, metric == .euclidean ? score > t : score < t { return nil }
            return try scored(hit.item, score: score, projection)
        }
    }
}

extension Collection {
    /// The `count` of `ordinals` with the best MaxSim estimated from the codes: per query
    /// vector, its code's least Hamming distance h to the point's codes, as the similarity of
    /// unit vectors that far apart, cos(pi h / bits), summed.
    static func codeCandidates(
        _ query: [Float], _ points: Segment, _ quantizer: BinaryQuantizer, _ ordinals: [Int], count: Int
    ) -> [Int] {
        guard ordinals.count > count else { return ordinals }
        let d = points.dimension, words = quantizer.wordsPerCode
        let codes = stride(from: 0, to: query.count, by: d).map { quantizer.encode(Array(query[$0..<($0 + d)])) }
        let cosines = (0...(words * 64)).map { Float(cos(Double.pi * Double($0) / Double(d))) }
        var top = TopK<Int>(k: count, higherIsBetter: true)
        points.withIndex { index in
            for o in ordinals {
                let rows = points.multivectorRows(at: o)
                var estimate: Float = 0
                for code in codes {
                    var nearest = Int.max
                    code.withUnsafeBufferPointer { c in
                        for r in rows { nearest = min(nearest, Hamming.distance(c.baseAddress!, index.codes.code(UInt32(r)), words: words)) }
                    }
                    estimate += nearest == .max ? -1 : cosines[min(nearest, cosines.count - 1)]
                }
                top.insert(estimate, o)
            }
        }
        return top.sorted().map(\.item)
    }
}
