import Foundation
import HSDBCore
import Index

extension Collection {
    /// The `limit` live points whose sparse vector `name` has the highest dot product with
    /// `query`, among those sharing at least one index with it (others have no score, as in
    /// Qdrant). Exact: memtables are scored point by point, segments through their inverted
    /// index, touching only the postings of the query's indices. With the `idf` modifier each
    /// query weight is multiplied by ln(1 + (N - df + 0.5) / (df + 0.5)), N the live points
    /// and df those whose vector holds the index.
    public func searchSparse(
        _ name: String, _ query: SparseVector, limit: Int = 10, projection: Projection = .payloadOnly,
        scoreThreshold: Float? = nil, filter: Filter? = nil
    ) throws -> [ScoredPoint] {
        guard limit >= 1 else { throw HSDBError.invalidArgument("search limit must be at least 1, got \(limit)") }
        guard let parameters = config.sparseVectors[name] else {
            throw HSDBError.invalidArgument("the collection has no sparse vector named '\(name)'")
        }
        try Validation.checkSparse([name: query], config: config, context: "query")
        let s = snapshot
        let weights = parameters.modifier == .idf ? idfWeights(query, name, s) : query.values
        let weighted = SparseVector(indices: query.indices, values: weights)
        var top = TopK<Snapshot.Found>(k: limit, higherIsBetter: true)
        s.forEachLiveMemtablePoint { id, p in
            guard let v = p.sparse[name], let score = weighted.dot(v) else { return }
            if let filter, !filter.matches(id: id, payload: p.payload) { return }
            top.insert(score, .memtable(id, p))
        }
        for handle in s.segments {
            guard let n = handle.segment.sparseNames.firstIndex(of: name) else { continue }
            let mask = try filter.map { try matching(handle, $0, lsn: s.lsn) }
            var scores: [Int: Float] = [:]
            for (term, weight) in zip(weighted.indices, weighted.values) {
                handle.segment.forEachPosting(name: n, term: term) { o, value in
                    guard mask?.accepts(UInt32(o)) ?? handle.isAlive(o, at: s.lsn) else { return }
                    scores[o, default: 0] += weight * value
                }
            }
            for (o, score) in scores { top.insert(score, .segment(handle, o)) }
        }
        var results: [ScoredPoint] = []
        for hit in top.sorted() {
            if let t = scoreThreshold, hit.score < t { continue }
            results.append(try scored(hit.item, score: hit.score, projection))
        }
        return results
    }

    /// How many live points hold each of `query`'s indices in `name`, and the query's values
    /// weighted by the resulting inverse document frequencies.
    private func idfWeights(_ query: SparseVector, _ name: String, _ s: Snapshot) -> [Float] {
        var live = 0
        var df = [Int](repeating: 0, count: query.indices.count)
        s.forEachLiveMemtablePoint { _, p in
            live += 1
            guard let v = p.sparse[name] else { return }
            for (i, term) in query.indices.enumerated() where v.contains(term) { df[i] += 1 }
        }
        for handle in s.segments {
            live += handle.liveCount(at: s.lsn)
            guard let n = handle.segment.sparseNames.firstIndex(of: name) else { continue }
            for (i, term) in query.indices.enumerated() {
                handle.segment.forEachPosting(name: n, term: term) { o, _ in if handle.isAlive(o, at: s.lsn) { df[i] += 1 } }
            }
        }
        let n = Double(live)
        return zip(query.values, df).map { value, d in
            value * Float(log(1 + (n - Double(d) + 0.5) / (Double(d) + 0.5)))
        }
    }
}

extension SparseVector {
    /// Whether `index` is one of the vector's indices (binary search).
    func contains(_ index: UInt32) -> Bool {
        var low = 0, high = indices.count
        while low < high {
            let mid = (low + high) / 2
            if indices[mid] < index { low = mid + 1 } else { high = mid }
        }
        return low < indices.count && indices[low] == index
    }
}
