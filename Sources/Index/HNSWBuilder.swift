#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The distance between two nodes being indexed (smaller is nearer), for building.
public protocol PairDistance {
    func distance(_ a: UInt32, _ b: UInt32) -> Float
}

/// Builds an HNSW graph (Malkov & Yashunin) over nodes 0..<count, in the flat layout of
/// `HNSWGraph`. Neighbours are chosen with the paper's heuristic (a candidate is kept only if
/// it is nearer to the new node than to every neighbour already kept), which keeps links
/// spread across clusters. Levels are drawn from a seeded generator, so a build is
/// reproducible. Level 0 keeps up to 2·M links, upper levels M.
public final class HNSWBuilder {
    public let count: Int
    public let m: Int
    public let m0: Int
    public let efConstruction: Int
    public private(set) var levels: [UInt8]
    public private(set) var level0: [UInt32]
    public private(set) var upperIndex: [UInt32]
    public private(set) var upper: [UInt32]
    public private(set) var entryPoint: UInt32 = 0
    public private(set) var maxLevel = 0
    private var inserted = 0
    private var visited: VisitedSet

    public init(count: Int, m: Int = 16, efConstruction: Int = 200, seed: UInt64 = 0x4853_4442) {
        precondition(m >= 2 && count < Int(UInt32.max))
        self.count = count
        self.m = m
        m0 = 2 * m
        self.efConstruction = max(efConstruction, m)
        var rng = SplitMix(seed: seed)
        let scale = 1 / log(Double(m))
        levels = (0..<count).map { _ in
            let u = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-12)
            return UInt8(min(Int(-log(u) * scale), 30))
        }
        var blocks = 0
        upperIndex = levels.map { level in
            guard level > 0 else { return HNSWGraph.noUpperBlock }
            defer { blocks += Int(level) }
            return UInt32(blocks)
        }
        level0 = [UInt32](repeating: 0, count: count * (m0 + 1))
        upper = [UInt32](repeating: 0, count: blocks * (m + 1))
        visited = VisitedSet(count: count)
    }

    /// Inserts every node in order.
    public func build<D: PairDistance>(_ d: D) {
        while inserted < count { insertNext(d) }
    }

    /// Reads the graph built so far. The view is valid inside `body` only.
    public func withGraph<R>(_ body: (HNSWGraph) throws -> R) rethrows -> R {
        try levels.withUnsafeBufferPointer { lv in
            try level0.withUnsafeBufferPointer { l0 in
                try upperIndex.withUnsafeBufferPointer { ui in
                    try upper.withUnsafeBufferPointer { up in
                        try body(HNSWGraph(
                            count: inserted, m: m, m0: m0, entryPoint: entryPoint, maxLevel: maxLevel,
                            upperBlockCount: upper.count / (m + 1), levels: lv.baseAddress!, level0: l0.baseAddress!, upperIndex: ui.baseAddress!,
                            upper: up.baseAddress ?? UnsafePointer(bitPattern: 4)!))
                    }
                }
            }
        }
    }

    private struct FromNode<D: PairDistance>: NodeDistance {
        let d: D
        let node: UInt32
        @inline(__always) func distance(to other: UInt32) -> Float { d.distance(node, other) }
    }

    func insertNext<D: PairDistance>(_ d: D) {
        let q = UInt32(inserted)
        let level = Int(levels[inserted])
        defer { inserted += 1 }
        if inserted == 0 {
            entryPoint = q
            maxLevel = level
            return
        }
        let query = FromNode(d: d, node: q)
        var entries: [Candidate] = withGraph { g in
            var e = Candidate(distance: d.distance(q, entryPoint), node: entryPoint)
            if maxLevel > level {
                for l in stride(from: maxLevel, to: level, by: -1) { e = g.greedy(query, from: e, level: l) }
            }
            return [e]
        }
        for l in stride(from: min(level, maxLevel), through: 0, by: -1) {
            visited.reset(count: count)
            let found = withGraph { g in g.searchLevel(query, entries: entries, ef: efConstruction, level: l, filter: AcceptAll(), visited: &visited) }
            let chosen = selectNeighbors(found, max: m, d)
            setNeighbors(of: q, level: l, chosen.map(\.node))
            for c in chosen { link(c.node, to: q, distance: c.distance, level: l, d) }
            entries = found
        }
        if level > maxLevel {
            maxLevel = level
            entryPoint = q
        }
    }

    /// The heuristic: walk candidates nearest first; keep one if no kept neighbour is nearer
    /// to it than the new node is.
    func selectNeighbors<D: PairDistance>(_ candidates: [Candidate], max limit: Int, _ d: D) -> [Candidate] {
        if candidates.count <= limit { return candidates }
        var kept: [Candidate] = []
        kept.reserveCapacity(limit)
        for c in candidates {
            if kept.count == limit { break }
            var good = true
            for r in kept where d.distance(c.node, r.node) < c.distance {
                good = false
                break
            }
            if good { kept.append(c) }
        }
        return kept
    }

    /// Adds `q` to `node`'s list on `level`, shrinking the list with the heuristic when full.
    func link<D: PairDistance>(_ node: UInt32, to q: UInt32, distance: Float, level: Int, _ d: D) {
        let limit = level == 0 ? m0 : m
        let start = slotStart(node, level)
        let n = Int(slot(start, level))
        if n < limit {
            setSlot(node, level, index: 1 + n, q)
            setSlot(node, level, index: 0, UInt32(n + 1))
            return
        }
        var candidates = [Candidate(distance: distance, node: q)]
        for i in 0..<n {
            let other = slot(start + 1 + i, level)
            candidates.append(Candidate(distance: d.distance(node, other), node: other))
        }
        candidates.sort { $0.distance < $1.distance }
        setNeighbors(of: node, level: level, selectNeighbors(candidates, max: limit, d).map(\.node))
    }

    private func slotStart(_ node: UInt32, _ level: Int) -> Int {
        level == 0 ? Int(node) * (m0 + 1) : (Int(upperIndex[Int(node)]) + level - 1) * (m + 1)
    }

    private func slot(_ index: Int, _ level: Int) -> UInt32 { level == 0 ? level0[index] : upper[index] }

    private func setSlot(_ node: UInt32, _ level: Int, index: Int, _ value: UInt32) {
        if level == 0 { level0[slotStart(node, 0) + index] = value } else { upper[slotStart(node, level) + index] = value }
    }

    private func setNeighbors(of node: UInt32, level: Int, _ neighbors: [UInt32]) {
        setSlot(node, level, index: 0, UInt32(neighbors.count))
        for (i, n) in neighbors.enumerated() { setSlot(node, level, index: 1 + i, n) }
    }
}

/// SplitMix64: a small, good, seedable generator for level draws.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
