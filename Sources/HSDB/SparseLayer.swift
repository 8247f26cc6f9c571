#if canImport(Glibc)
import Glibc
#endif
import HSDBCore
import Index

/// One layer of a snapshot as sparse search reads it: its inverted index of one sparse vector
/// name, with the ordinals it may count (live, for document frequencies) and return (live and
/// matching the filter). A memtable's ordinals are its rows; a segment's, its points.
enum SparseLayer {
    case memtable(live: MemtableLayer, kept: MemtableLayer, postings: MemtablePostings?)
    case segment(SegmentHandle, name: Int, live: SparseLiveness, kept: SparseLiveness)

    /// The layer with its kept ordinals counted as its live ones (a corpus's statistics).
    var keptOnly: SparseLayer {
        switch self {
        case .memtable(_, let kept, let postings): .memtable(live: kept, kept: kept, postings: postings)
        case .segment(let h, let name, _, let kept): .segment(h, name: name, live: kept, kept: kept)
        }
    }

    /// Adds, per query index, the live points whose vector holds it.
    func addDocumentFrequencies(_ query: SparseVector, into df: inout [Int]) {
        switch self {
        case .memtable(let live, _, let postings):
            guard let postings else { return }
            let accepted = RowBitmap(live)
            for (i, term) in query.indices.enumerated() {
                guard let list = postings.terms[term] else { continue }
                if accepted.all {
                    df[i] += list.count(rowsBelow: live.rows.count)
                } else {
                    list.forEach(rowsBelow: live.rows.count, accepted) { _, _ in df[i] += 1 }
                }
            }
        case .segment(let h, let n, let live, _):
            for (i, term) in query.indices.enumerated() {
                if live.words == nil {
                    df[i] += h.segment.postingCount(name: n, term: term)
                } else {
                    h.segment.forEachPosting(name: n, term: term) { o, _ in if live.accepts(o) { df[i] += 1 } }
                }
            }
        }
    }

    /// Calls `body` with each kept ordinal sharing an index with the query and its score (the
    /// weighted sum over the shared indices): term at a time into a dense accumulator, so the
    /// postings are the only reads. (MaxScore's pruning was tried and dropped: on BM25 queries
    /// of real texts the terms left after the rare ones still bound above the k-th score for
    /// most of the ordinals seen, and looking those up cost as much as reading the lists:
    /// 729 QPS against 762 without, DESIGN.md "Sparse search".)
    func score(_ terms: [UInt32], _ weights: [Float], _ body: (Int, Float) -> Void) {
        switch self {
        case .memtable(_, let kept, let postings):
            guard let postings, kept.candidates > 0 else { return }
            let accepted = RowBitmap(kept)
            var sums = Accumulator(count: kept.rows.count)
            for (term, weight) in zip(terms, weights) {
                postings.terms[term]?.forEach(rowsBelow: kept.rows.count, accepted) { row, value in sums.add(row, weight * value) }
            }
            sums.forEachTouched(body)
        case .segment(let h, let n, _, let kept):
            var sums = Accumulator(count: h.count)
            let count = h.count
            for (term, weight) in zip(terms, weights) {
                h.segment.withPostings(name: n, term: term) { ordinals, values in
                    if let words = kept.words {
                        for i in 0..<ordinals.count {
                            let o = Int(ordinals[i])
                            if o < count && words[o >> 6] & (1 << UInt64(o & 63)) != 0 { sums.add(o, weight * values[i]) }
                        }
                    } else {
                        for i in 0..<ordinals.count where Int(ordinals[i]) < count { sums.add(Int(ordinals[i]), weight * values[i]) }
                    }
                }
            }
            sums.forEachTouched(body)
        }
    }

    /// What a search returns for `ordinal` of this layer.
    func found(_ ordinal: Int) -> Snapshot.Found? {
        switch self {
        case .memtable(let live, _, _):
            let (chunk, slot) = live.rows.locate(ordinal)
            return live.found(chunk, slot)
        case .segment(let h, _, _, _):
            return .segment(h, ordinal)
        }
    }
}

/// Scores per ordinal, and the ordinals touched (so only those are read back). Raw memory,
/// zeroed by the allocator (large blocks come as zero pages, touched only where scored).
struct Accumulator: ~Copyable {
    private let sums: UnsafeMutablePointer<Float>
    private let seen: UnsafeMutablePointer<UInt64>
    private var touched: [Int32] = []

    init(count: Int) {
        sums = calloc(max(count, 1), MemoryLayout<Float>.stride)!.assumingMemoryBound(to: Float.self)
        seen = calloc(max((count + 63) / 64, 1), MemoryLayout<UInt64>.stride)!.assumingMemoryBound(to: UInt64.self)
    }

    deinit {
        free(sums)
        free(seen)
    }

    @inline(__always)
    mutating func add(_ o: Int, _ value: Float) {
        let bit: UInt64 = 1 << UInt64(o & 63)
        if seen[o >> 6] & bit == 0 {
            seen[o >> 6] |= bit
            touched.append(Int32(o))
        }
        sums[o] += value
    }

    func forEachTouched(_ body: (Int, Float) -> Void) {
        for o in touched { body(Int(o), sums[Int(o)]) }
    }
}

/// A memtable layer's kept rows as one bitmap over all its rows (its chunks hold multiples
/// of 64 rows, so their bitmaps laid end to end are one).
struct RowBitmap {
    private let words: [UInt64]?

    init(_ layer: MemtableLayer) {
        var words: [UInt64] = []
        var all = true
        var c = 0
        layer.rows.forEachChunk { chunk, visible in
            defer { c += 1 }
            let n = (visible + 63) / 64
            if let mask = layer.masks[c] {
                all = false
                words += mask.prefix(n)
            } else {
                words += [UInt64](repeating: .max, count: n)
            }
            // A chunk's words beyond its visible rows would misplace the next chunk's.
            words += [UInt64](repeating: 0, count: chunk.capacity / 64 - n)
        }
        self.words = all ? nil : words
    }

    /// Whether every row is accepted.
    var all: Bool { words == nil }

    @inline(__always)
    func contains(_ row: Int) -> Bool {
        guard let words else { return true }
        return words[row >> 6] & (1 << UInt64(row & 63)) != 0
    }
}

extension PostingList {
    /// How many postings are of rows below `rows` (the list is in row order: a binary search
    /// in the chunk where the rows cross the bound).
    func count(rowsBelow rows: Int) -> Int {
        var total = 0
        forEachChunk(upTo: count) { entries in
            guard let last = entries.last else { return }
            if Int(last.row) < rows {
                total += entries.count
                return
            }
            var low = 0, high = entries.count
            while low < high {
                let mid = (low + high) / 2
                if Int(entries[mid].row) < rows { low = mid + 1 } else { high = mid }
            }
            total += low
        }
        return total
    }

    /// Calls `body` with the postings of rows below `rows` (what a snapshot that sees `rows`
    /// rows may read) that `accepted` holds, in row order.
    @inline(__always)
    func forEach(rowsBelow rows: Int, _ accepted: RowBitmap, _ body: (Int, Float) -> Void) {
        forEachChunk(upTo: count) { entries in
            for e in entries {
                let row = Int(e.row)
                if row < rows && accepted.contains(row) { body(row, e.value) }
            }
        }
    }
}
