import Atomics
import HashTreeCollections
import HSDBCore

/// A memtable's inverted index of one sparse vector name: for each index (term) the rows whose
/// vector holds it, with the value there, in row order. Appended under the collection's state
/// lock as rows are; read by snapshots without it, up to the rows they see (DESIGN.md,
/// "Sparse search"). The term dictionary is persistent (a snapshot copies it in O(1)); each
/// term's list only grows, in chunks that never move.
struct MemtablePostings: Sendable {
    private(set) var terms = TreeDictionary<UInt32, PostingList>()

    /// Appends row `row`'s entries of `vector`.
    mutating func append(row: Int, _ vector: SparseVector) {
        for (term, value) in zip(vector.indices, vector.values) {
            if let list = terms[term] {
                list.append(row: UInt32(row), value: value)
            } else {
                let list = PostingList()
                list.append(row: UInt32(row), value: value)
                terms[term] = list
            }
        }
    }
}

/// One term's postings (row, value), appended by one writer at a time and read concurrently:
/// chunks doubling in size from 16 entries, at fixed places in a table that never moves, and
/// a count published with release ordering after each entry is written, so a reader that
/// loads the count (acquiring) reads only entries fully written.
final class PostingList: @unchecked Sendable {
    // @unchecked Sendable: `table` is allocated once; a chunk and an entry are written once,
    // by the single writer holding the state lock, before the count that covers them is
    // published; readers read only below the count they loaded.
    static let chunkCount = 28  // 16 * (2^28 - 1) entries: more than a memtable can hold
    private let table: UnsafeMutablePointer<UnsafeMutablePointer<Entry>?>
    private let published = ManagedAtomic<Int>(0)

    struct Entry {
        var row: UInt32
        var value: Float
    }

    init() {
        table = .allocate(capacity: Self.chunkCount)
        table.initialize(repeating: nil, count: Self.chunkCount)
    }

    deinit {
        for c in 0..<Self.chunkCount { table[c]?.deallocate() }
        table.deallocate()
    }

    /// Postings written (and visible) so far.
    var count: Int { published.load(ordering: .acquiring) }

    /// The chunk holding entry `i`, and its position there: chunk c holds entries
    /// 16 (2^c - 1) ..< 16 (2^(c+1) - 1).
    @inline(__always)
    private static func place(_ i: Int) -> (chunk: Int, offset: Int) {
        let c = (Int.bitWidth - 1) - (i / 16 + 1).leadingZeroBitCount
        return (c, i - 16 * ((1 << c) - 1))
    }

    /// Call under the state lock only (one writer).
    func append(row: UInt32, value: Float) {
        let i = published.load(ordering: .relaxed)
        let (c, offset) = Self.place(i)
        if table[c] == nil { table[c] = .allocate(capacity: 16 << c) }
        (table[c]! + offset).initialize(to: Entry(row: row, value: value))
        published.store(i + 1, ordering: .releasing)
    }

    /// Calls `body` with the first `count` postings (those a snapshot that loaded `count` may
    /// read), a chunk at a time, in row order.
    func forEachChunk(upTo count: Int, _ body: (UnsafeBufferPointer<Entry>) -> Void) {
        var i = 0, c = 0
        while i < count {
            let end = min(count, 16 * ((2 << c) - 1))
            body(UnsafeBufferPointer(start: table[c]!, count: end - i))
            i = end
            c += 1
        }
    }
}
