/// The neighbour lists of an HNSW graph in the flat layout segments store, read in place
/// (from builder memory or a mapped file) without deserialising. All UInt32, little-endian:
///
///     levels:      count x u8, each node's top level
///     level0:      count x (1 + m0): neighbour count, then m0 slots
///     upperIndex:  count x u32: index in `upper` of the node's level-1 block (its levels
///                  1...top are consecutive blocks), 0xFFFF_FFFF for nodes only on level 0
///     upper:       blocks of (1 + m): neighbour count, then m slots
///
/// A non-owning view: whoever made it keeps the memory alive while it is used.
public struct HNSWGraph: @unchecked Sendable {
    // @unchecked Sendable: a read-only view; the pointed-to bytes are never written while a
    // view exists (builders hand out views only after building; files are mapped read-only).
    public let count: Int
    public let m: Int
    public let m0: Int
    public let entryPoint: UInt32
    public let maxLevel: Int
    /// Blocks in `upper`, so a corrupt index can never point outside it.
    public let upperBlockCount: Int
    let levels: UnsafePointer<UInt8>
    let level0: UnsafePointer<UInt32>
    let upperIndex: UnsafePointer<UInt32>
    let upper: UnsafePointer<UInt32>

    public static let noUpperBlock = UInt32.max

    public init(
        count: Int, m: Int, m0: Int, entryPoint: UInt32, maxLevel: Int, upperBlockCount: Int,
        levels: UnsafePointer<UInt8>, level0: UnsafePointer<UInt32>, upperIndex: UnsafePointer<UInt32>, upper: UnsafePointer<UInt32>
    ) {
        self.count = count
        self.m = m
        self.m0 = m0
        self.entryPoint = entryPoint
        self.maxLevel = maxLevel
        self.upperBlockCount = upperBlockCount
        self.levels = levels
        self.level0 = level0
        self.upperIndex = upperIndex
        self.upper = upper
    }

    @inline(__always)
    public func level(of node: UInt32) -> Int { Int(levels[Int(node)]) }

    /// The neighbours of `node` on `level`. Counts are clamped and block indexes checked, so
    /// a graph read from a damaged file can give wrong neighbours but never an out-of-bounds
    /// read; callers skip neighbour ids that are not below `count`.
    @inline(__always)
    public func neighbors(of node: UInt32, level: Int) -> UnsafeBufferPointer<UInt32> {
        if level == 0 {
            let block = level0 + Int(node) * (m0 + 1)
            return UnsafeBufferPointer(start: block + 1, count: min(Int(block[0]), m0))
        }
        let first = upperIndex[Int(node)]
        guard first != Self.noUpperBlock, Int(first) + level - 1 < upperBlockCount else {
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        let block = upper + (Int(first) + level - 1) * (m + 1)
        return UnsafeBufferPointer(start: block + 1, count: min(Int(block[0]), m))
    }
}

/// The distance from a query to a graph node; smaller is nearer. Implementations: exact
/// float distance, Hamming distance between binary codes.
public protocol NodeDistance {
    func distance(to node: UInt32) -> Float
}

/// Which nodes may be returned (the rest are still walked through): live points, points
/// matching a filter.
public protocol NodeFilter {
    func accepts(_ node: UInt32) -> Bool
}

public struct AcceptAll: NodeFilter {
    public init() {}
    @inline(__always) public func accepts(_ node: UInt32) -> Bool { true }
}

/// Where a search reads neighbour lists: a finished graph (in place) or a graph being built
/// (under its locks).
public protocol NeighborSource {
    var nodeCount: Int { get }
    func withNeighbors<R>(of node: UInt32, level: Int, _ body: (UnsafeBufferPointer<UInt32>) -> R) -> R
}

extension HNSWGraph: NeighborSource {
    public var nodeCount: Int { count }

    @inline(__always)
    public func withNeighbors<R>(of node: UInt32, level: Int, _ body: (UnsafeBufferPointer<UInt32>) -> R) -> R {
        body(neighbors(of: node, level: level))
    }

    /// The `k` nearest nodes to the query `d` measures that `filter` accepts, nearest first,
    /// exploring with a beam of `ef` (at least k) on level 0. Rejected nodes are walked
    /// through but never returned. `visited` is scratch space reused across searches.
    public func search<D: NodeDistance, F: NodeFilter>(
        _ d: D, k: Int, ef: Int, filter: F, visited: inout VisitedSet
    ) -> [Candidate] {
        guard count > 0 else { return [] }
        var entry = Candidate(distance: d.distance(to: entryPoint), node: entryPoint)
        if maxLevel > 0 {
            for level in stride(from: maxLevel, to: 0, by: -1) { entry = greedy(d, from: entry, level: level) }
        }
        visited.reset(count: count)
        let found = searchLevel(d, entries: [entry], ef: max(ef, k), level: 0, filter: filter, visited: &visited)
        return Array(found.prefix(k))
    }

    public func search<D: NodeDistance>(_ d: D, k: Int, ef: Int, visited: inout VisitedSet) -> [Candidate] {
        search(d, k: k, ef: ef, filter: AcceptAll(), visited: &visited)
    }
}

extension NeighborSource {
    /// Moves to a nearer neighbour until none is nearer (beam of one), on one upper level.
    @inline(__always)
    func greedy<D: NodeDistance>(_ d: D, from start: Candidate, level: Int) -> Candidate {
        var best = start
        var improved = true
        while improved {
            improved = false
            let from = best.node
            withNeighbors(of: from, level: level) { neighbors in
                for n in neighbors where Int(n) < nodeCount {
                    let dn = d.distance(to: n)
                    if dn < best.distance {
                        best = Candidate(distance: dn, node: n)
                        improved = true
                    }
                }
            }
        }
        return best
    }

    /// Beam search on one level from `entries`: up to `ef` nearest accepted nodes, nearest
    /// first. The walk continues while a queued node could still beat the worst kept result.
    func searchLevel<D: NodeDistance, F: NodeFilter>(
        _ d: D, entries: [Candidate], ef: Int, level: Int, filter: F, visited: inout VisitedSet
    ) -> [Candidate] {
        var queue = CandidateHeap(capacity: ef * 2)  // negated distances: top is the nearest
        var results = CandidateHeap(capacity: ef + 1)  // top is the farthest kept
        for e in entries where visited.insert(e.node) {
            queue.push(Candidate(distance: -e.distance, node: e.node))
            if filter.accepts(e.node) {
                results.push(e)
                if results.count > ef { results.pop() }
            }
        }
        let limit = nodeCount
        while !queue.isEmpty {
            let current = queue.pop()
            if results.count >= ef && -current.distance > results.top.distance { break }
            withNeighbors(of: current.node, level: level) { neighbors in
                for n in neighbors where Int(n) < limit && visited.insert(n) {
                    let dn = d.distance(to: n)
                    if results.count < ef || dn < results.top.distance {
                        queue.push(Candidate(distance: -dn, node: n))
                        if filter.accepts(n) {
                            results.push(Candidate(distance: dn, node: n))
                            if results.count > ef { results.pop() }
                        }
                    }
                }
            }
        }
        return results.sortedNearestFirst()
    }
}
