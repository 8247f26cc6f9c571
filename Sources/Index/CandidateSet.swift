internal import CHamming

/// The `capacity` nearest codes over several scans (one per layer of a collection, each with
/// its own tag): the native kernel's fused selection, kept across scans, so each scan after
/// the first starts from the distance the earlier ones already need, and the candidates of
/// every layer are rescored in one pass (DESIGN.md, "Search").
public struct CandidateSet: ~Copyable {
    /// A candidate: the layer it came from, its ordinal there, and its Hamming distance.
    public struct Entry: Sendable, Equatable {
        public var distance: Int
        public var tag: Int
        public var ordinal: Int

        public init(distance: Int, tag: Int, ordinal: Int) {
            self.distance = distance
            self.tag = tag
            self.ordinal = ordinal
        }
    }

    /// The most tags (layers) one set can tell apart.
    public static let maxTags = 1 << 16
    static let distanceShift: UInt64 = 48

    private let keys: UnsafeMutablePointer<UInt64>
    private var heap: hsdb_topk

    public init(capacity: Int) {
        precondition(capacity >= 0)
        keys = .allocate(capacity: max(capacity, 1))
        heap = hsdb_topk(keys: keys, size: 0, capacity: capacity)
    }

    deinit { keys.deallocate() }

    public var capacity: Int { heap.capacity }
    public var count: Int { heap.size }

    /// Offers one code's distance (saturated at 65,535).
    public mutating func offer(distance: Int, tag: Int, ordinal: Int) {
        precondition(tag >= 0 && tag < Self.maxTags && ordinal >= 0 && ordinal <= Int(UInt32.max))
        hsdb_topk_offer(&heap, hsdb_topk_key(UInt32(clamping: distance), UInt32(tag), UInt32(ordinal)))
    }

    /// Offers `count` codes in the kernel's block layout, the i-th as ordinal `first` + i,
    /// those set in `live` only (nil: all).
    mutating func scan(
        _ query: UnsafePointer<UInt64>, blocks: UnsafePointer<UInt64>, count: Int, words: Int, live: UnsafePointer<UInt64>?,
        tag: Int, first: Int
    ) {
        precondition(tag >= 0 && tag < Self.maxTags && first >= 0 && first + count <= 1 << 32)
        hsdb_topk_scan(&heap, query, blocks, count, words, live, UInt32(tag), UInt32(first))
    }

    /// The kept candidates, nearest first (ties: lower tag, then lower ordinal); the set is
    /// empty after.
    public mutating func drain() -> [Entry] {
        let n = hsdb_topk_finish(&heap)
        heap.size = 0
        return (0..<n).map { i in
            let key = keys[i]
            return Entry(distance: Int(key >> Self.distanceShift), tag: Int((key >> 32) & 0xFFFF), ordinal: Int(UInt32(truncatingIfNeeded: key)))
        }
    }
}

/// Codes in the kernel's block layout that grow in place (a memtable's): written one code at
/// a time by one writer, read by others up to a count published to them (under a lock). A
/// reader scans the full 8-code blocks with the kernel and the codes of the last, partly
/// written block one by one, so it never reads a word the writer may be writing.
public struct GrowingCodeBlocks: @unchecked Sendable {
    // @unchecked Sendable: a view; the owner allocates `base` for `capacity` codes, writes
    // each code once before publishing it, and keeps the memory alive while views exist.
    public let base: UnsafeMutablePointer<UInt64>
    public let words: Int
    public let capacity: Int

    public init(base: UnsafeMutablePointer<UInt64>, words: Int, capacity: Int) {
        precondition(capacity % 8 == 0)
        self.base = base
        self.words = words
        self.capacity = capacity
    }

    /// Words to allocate (64-byte aligned) for `capacity` codes.
    public static func storageWords(capacity: Int, words: Int) -> Int { hsdb_code_blocks_words(capacity, words) }

    /// Writes code `i` (`words` words).
    public func store(_ code: UnsafePointer<UInt64>, at i: Int) {
        let lane = base + (i / 8) * words * 8 + i % 8
        for j in 0..<words { lane[j * 8] = code[j] }
    }

    /// Offers codes 0..<count (those set in `live`, relative to code 0; nil: all) as ordinals
    /// `first` + i.
    public func scan(
        _ query: UnsafePointer<UInt64>, count: Int, live: UnsafePointer<UInt64>?, tag: Int, first: Int,
        into candidates: inout CandidateSet
    ) {
        let full = count & ~7
        candidates.scan(query, blocks: base, count: full, words: words, live: live, tag: tag, first: first)
        for i in full..<count where live.map({ $0[i >> 6] >> UInt64(i & 63) & 1 == 1 }) ?? true {
            candidates.offer(distance: Int(hsdb_code_block_distance(query, base, words, i)), tag: tag, ordinal: first + i)
        }
    }
}
