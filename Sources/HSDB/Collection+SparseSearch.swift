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
        let filter = filter.map { $0.resolvingText(payloadIndexes) }
        let s = snapshot
        let idf = parameters.modifier == .idf
        // Memtables, in one pass: every live point sharing an index, with the positions of
        // the query indices it holds and its values there (scored once the weights are known).
        var memtableHits: [(id: PointID, point: StoredPoint, matches: [(Int, Float)])] = []
        var df = [Int](repeating: 0, count: query.indices.count)
        s.forEachLiveMemtablePoint { id, p in
            guard let v = p.sparse[name] else { return }
            let matches = query.matches(v)
            guard !matches.isEmpty else { return }
            if idf { for (i, _) in matches { df[i] += 1 } }
            memtableHits.append((id, p, matches))
        }
        if idf { addSegmentDocumentFrequencies(name, query, s, into: &df) }
        let weights = idf ? Self.idfWeights(query.values, df: df, points: livePoints(s)) : query.values
        var top = TopK<Snapshot.Found>(k: limit, higherIsBetter: true)
        for hit in memtableHits {
            if let filter, !filter.matches(id: hit.id, payload: hit.point.payload) { continue }
            top.insert(hit.matches.reduce(0) { $0 + weights[$1.0] * $1.1 }, .memtable(hit.id, hit.point))
        }
        for handle in s.segments {
            guard let n = handle.segment.sparseNames.firstIndex(of: name) else { continue }
            let mask = try filter.map { try matching(handle, $0, lsn: s.lsn) }
            let live = SparseLiveness(words: mask?.words ?? handle.liveBitmap(at: s.lsn))
            // Term at a time into a dense accumulator: the postings are the only reads.
            var sums = [Float](repeating: 0, count: handle.count)
            var seen = [UInt64](repeating: 0, count: (handle.count + 63) / 64)
            var touched: [Int32] = []
            for (term, weight) in zip(query.indices, weights) {
                handle.segment.forEachPosting(name: n, term: term) { o, value in
                    guard live.accepts(o) else { return }
                    if seen[o >> 6] & (1 << UInt64(o & 63)) == 0 {
                        seen[o >> 6] |= 1 << UInt64(o & 63)
                        touched.append(Int32(o))
                    }
                    sums[o] += weight * value
                }
            }
            for o in touched { top.insert(sums[Int(o)], .segment(handle, Int(o))) }
        }
        var results: [ScoredPoint] = []
        for hit in top.sorted() {
            if let t = scoreThreshold, hit.score < t { continue }
            results.append(try scored(hit.item, score: hit.score, projection))
        }
        return results
    }

    /// Adds, per query index, the live segment points whose vector `name` holds it.
    private func addSegmentDocumentFrequencies(_ name: String, _ query: SparseVector, _ s: Snapshot, into df: inout [Int]) {
        for handle in s.segments {
            guard let n = handle.segment.sparseNames.firstIndex(of: name) else { continue }
            let live = SparseLiveness(words: handle.liveBitmap(at: s.lsn))
            for (i, term) in query.indices.enumerated() {
                if live.words == nil {
                    df[i] += handle.segment.postingCount(name: n, term: term)
                } else {
                    handle.segment.forEachPosting(name: n, term: term) { o, _ in if live.accepts(o) { df[i] += 1 } }
                }
            }
        }
    }

    /// Each value times ln(1 + (N - df + 0.5) / (df + 0.5)).
    static func idfWeights(_ values: [Float], df: [Int], points: Int) -> [Float] {
        let n = Double(points)
        return zip(values, df).map { value, d in value * Float(log(1 + (n - Double(d) + 0.5) / (Double(d) + 0.5))) }
    }

    /// The live points of `s`, counted once per LSN: the set of live points at an LSN is the
    /// same whatever flushes and merges have moved since, so searches between writes share it.
    func livePoints(_ s: Snapshot) -> Int {
        if let cached = liveCountCache.withLock({ $0 }), cached.lsn == s.lsn { return cached.count }
        var n = 0
        s.forEachLiveMemtablePoint { _, _ in n += 1 }
        for handle in s.segments { n += SparseLiveness(words: handle.liveBitmap(at: s.lsn)).count(of: handle.count) }
        liveCountCache.withLock { $0 = (s.lsn, n) }
        return n
    }
}

extension SparseVector {
    /// The positions (in `self`) of the indices `other` also holds, with `other`'s values
    /// there: one merge of the two sorted index lists.
    func matches(_ other: SparseVector) -> [(Int, Float)] {
        var out: [(Int, Float)] = []
        var i = 0, j = 0
        while i < indices.count && j < other.indices.count {
            if indices[i] == other.indices[j] {
                out.append((i, other.values[j]))
                i += 1
                j += 1
            } else if indices[i] < other.indices[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return out
    }
}

/// Which ordinals of a segment a sparse search may count: a bitmap, or nil for all.
struct SparseLiveness {
    let words: [UInt64]?

    @inline(__always) func accepts(_ o: Int) -> Bool {
        guard let words else { return true }
        return words[o >> 6] & (1 << UInt64(o & 63)) != 0
    }

    /// How many of the first `count` ordinals it accepts.
    func count(of count: Int) -> Int {
        guard let words else { return count }
        var n = 0
        for (w, word) in words.enumerated() {
            let valid = min(64, count - w * 64)
            guard valid > 0 else { break }
            n += (valid == 64 ? word : word & ((1 << UInt64(valid)) - 1)).nonzeroBitCount
        }
        return n
    }
}
