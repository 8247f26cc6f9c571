import Foundation
import HSDBCore
import Index

extension Collection {
    /// The `limit` live points whose sparse vector `name` has the highest dot product with
    /// `query`, among those sharing at least one index with it (others have no score, as in
    /// Qdrant). Exact, through the inverted indexes of every layer (memtables keep one as
    /// rows are appended, segments store one), touching only the postings of the query's
    /// indices. With the `idf` modifier each query weight is multiplied by
    /// ln(1 + (N - df + 0.5) / (df + 0.5)), N the live points of the collection and df those
    /// whose vector holds the index: over the whole collection whatever the filter (a filter
    /// restricts the results, not the corpus statistics, as in Qdrant), or over the live
    /// points matching `idfCorpus` (Qdrant's `params.idf.corpus`: a tenant's own statistics).
    public func searchSparse(
        _ name: String, _ query: SparseVector, limit: Int = 10, projection: Projection = .payloadOnly,
        scoreThreshold: Float? = nil, filter: Filter? = nil, idfCorpus: Filter? = nil
    ) throws -> [ScoredPoint] {
        guard limit >= 1 else { throw HSDBError.invalidArgument("search limit must be at least 1, got \(limit)") }
        guard let parameters = config.sparseVectors[name] else {
            throw HSDBError.invalidArgument("the collection has no sparse vector named '\(name)'")
        }
        try Validation.checkSparse([name: query], config: config, context: "query")
        let filter = filter.map(resolved)
        let s = snapshot
        let layers = try sparseLayers(name, s, filter: filter)
        var weights = query.values
        if parameters.modifier == .idf {
            var df = [Int](repeating: 0, count: query.indices.count)
            if let corpus = idfCorpus.map(resolved) {
                let corpusLayers = try sparseLayers(name, s, filter: corpus).map(\.keptOnly)
                for layer in corpusLayers { layer.addDocumentFrequencies(query, into: &df) }
                weights = Self.idfWeights(query.values, df: df, points: try count(corpus, in: s))
            } else {
                for layer in layers { layer.addDocumentFrequencies(query, into: &df) }
                weights = Self.idfWeights(query.values, df: df, points: livePoints(s))
            }
        }
        var top = TopK<(tag: Int, ordinal: Int)>(k: limit, higherIsBetter: true)
        for (tag, layer) in layers.enumerated() {
            layer.score(query.indices, weights) { ordinal, score in top.insert(score, (tag, ordinal)) }
        }
        var results: [ScoredPoint] = []
        for hit in top.sorted() {
            if let t = scoreThreshold, hit.score < t { continue }
            guard let found = layers[hit.item.tag].found(hit.item.ordinal) else { continue }
            results.append(try scored(found, score: hit.score, projection))
        }
        return results
    }

    /// The snapshot's layers for sparse vector `name`, newest first, each with the ordinals a
    /// search may count (live) and return (live and matching the filter).
    private func sparseLayers(_ name: String, _ s: Snapshot, filter: Filter?) throws -> [SparseLayer] {
        var layers: [SparseLayer] = []
        let memtables = [(s.active, s.activeRows, s.activeSparse[name])] + s.frozen.map { ($0.points, $0.rows, $0.sparse[name]) }
        for (points, rows, postings) in memtables {
            let live = MemtableLayer(points: points, rows: rows, lsn: s.lsn, filter: nil, requiresVector: false)
            let kept = filter.map { MemtableLayer(points: points, rows: rows, lsn: s.lsn, filter: $0, requiresVector: false) } ?? live
            layers.append(.memtable(live: live, kept: kept, postings: postings))
        }
        for h in s.segments {
            guard let n = h.segment.sparseNames.firstIndex(of: name) else { continue }
            let live = SparseLiveness(words: h.liveBitmap(at: s.lsn))
            let kept = try filter.map { SparseLiveness(words: try matching(h, $0, lsn: s.lsn).words) } ?? live
            layers.append(.segment(h, name: n, live: live, kept: kept))
        }
        return layers
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
        let n = s.liveCount
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
