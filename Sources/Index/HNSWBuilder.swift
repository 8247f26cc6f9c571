#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import HSDBCore
import Synchronization

/// The distance between two nodes being indexed (smaller is nearer), for building.
public protocol PairDistance {
    func distance(_ a: UInt32, _ b: UInt32) -> Float
}

/// Builds an HNSW graph (Malkov & Yashunin) over nodes 0..<count, in the flat layout of
/// `HNSWGraph`. Neighbours are chosen with the paper's heuristic (a candidate is kept only if
/// it is nearer to the new node than to every neighbour already kept), which keeps links
/// spread across clusters. Levels are drawn from a seeded generator. Level 0 keeps up to 2·M
/// links, upper levels M.
///
/// Several threads insert at once, as hnswlib does: each node's lists are guarded by a
/// striped lock (read under it as a copy, written under it), the entry point by a global
/// lock, held through the whole insertion of a node that raises the top level. With one
/// thread a build is reproducible; with more, the graph depends on the interleaving.
public final class HNSWBuilder: @unchecked Sendable {
    // @unchecked Sendable: `level0` and `upper` are written only under the lock of the node
    // whose block it is (`nodeLocks`), and read under it by concurrent inserts; `entryPoint`
    // and `maxLevel` only under `global`; `levels` and `upperIndex` are immutable after init;
    // `next` is atomic. After `build` returns no one writes, so `withGraph` reads lock-free.
    public let count: Int
    public let m: Int
    public let m0: Int
    public let efConstruction: Int
    public let levels: [UInt8]
    public let upperIndex: [UInt32]
    private let level0Storage: UnsafeMutablePointer<UInt32>
    private let upperStorage: UnsafeMutablePointer<UInt32>
    private let upperBlocks: Int
    private let nodeLocks: UnsafeMutablePointer<pthread_mutex_t>
    private static let lockStripes = 4096
    private let global = Mutex<(entryPoint: UInt32, maxLevel: Int)>((0, 0))
    private let next = Atomic<Int>(0)
    /// Where the build starts: the entry point and top level (the first node, or the carried
    /// graph's), and the nodes it inserts, in order.
    /// (Set once in `init`, after the carried links are written.)
    private var start: (entryPoint: UInt32, maxLevel: Int) = (0, 0)
    private var pending: [UInt32] = []

    /// `carrying`: an earlier graph whose nodes keep their levels and links (their new
    /// numbers must be below `count`, each used once); its `m` must be this build's.
    /// `absent`: bit n set when node n has no vector (a point without this dense vector): it
    /// stays in the numbering, at level 0, unlinked, so no search reaches it.
    public init(
        count: Int, m: Int = 16, efConstruction: Int = 200, seed: UInt64 = 0x4853_4442, carrying: CarriedGraph? = nil,
        absent: [UInt64]? = nil
    ) {
        precondition(m >= 2 && count < Int(UInt32.max))
        precondition(carrying.map { $0.graph.m == m && $0.graph.m0 == 2 * m } ?? true)
        self.count = count
        self.m = m
        m0 = 2 * m
        self.efConstruction = max(efConstruction, m)
        var rng = SplitMix64(seed: seed)
        let scale = 1 / log(Double(m))
        var levels = (0..<count).map { _ in
            let u = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-12)
            return UInt8(min(Int(-log(u) * scale), 30))
        }
        var carried = [Bool](repeating: false, count: count)
        if let c = carrying {
            for (old, new) in c.newNode.enumerated() where new != CarriedGraph.dropped {
                levels[Int(new)] = UInt8(c.graph.level(of: UInt32(old)))
                carried[Int(new)] = true
            }
        }
        let isAbsent = { (n: Int) in absent.map { $0[n >> 6] >> UInt64(n & 63) & 1 == 1 } ?? false }
        for n in 0..<count where isAbsent(n) { levels[n] = 0 }
        self.levels = levels
        var blocks = 0
        upperIndex = levels.map { level in
            guard level > 0 else { return HNSWGraph.noUpperBlock }
            defer { blocks += Int(level) }
            return UInt32(blocks)
        }
        upperBlocks = blocks
        level0Storage = .allocate(capacity: max(count * (2 * m + 1), 1))
        level0Storage.initialize(repeating: 0, count: max(count * (2 * m + 1), 1))
        upperStorage = .allocate(capacity: max(blocks * (m + 1), 1))
        upperStorage.initialize(repeating: 0, count: max(blocks * (m + 1), 1))
        nodeLocks = .allocate(capacity: Self.lockStripes)
        for i in 0..<Self.lockStripes { pthread_mutex_init(nodeLocks + i, nil) }
        if let c = carrying, let entry = Self.copyLinks(of: c, into: self, absent: isAbsent) {
            start = (entry, Int(levels[Int(entry)]))
            pending = (0..<UInt32(count)).filter { !carried[Int($0)] && !isAbsent(Int($0)) }
        } else {
            // The first node with a vector is the entry point.
            let present = (0..<UInt32(count)).filter { !isAbsent(Int($0)) }
            start = (present.first ?? 0, present.first.map { Int(levels[Int($0)]) } ?? 0)
            pending = Array(present.dropFirst())
        }
    }

    /// Writes the carried nodes' links, renumbered, into `builder` (before any insert);
    /// returns the entry point: the carried graph's, or if that was dropped the carried node
    /// of the highest level (nil if nothing is carried).
    private static func copyLinks(of c: CarriedGraph, into builder: HNSWBuilder, absent: (Int) -> Bool) -> UInt32? {
        var entry: (node: UInt32, level: Int)?
        for (old, new) in c.newNode.enumerated() where new != CarriedGraph.dropped && !absent(Int(new)) {
            let level = c.graph.level(of: UInt32(old))
            for l in 0...level {
                let links = c.graph.neighbors(of: UInt32(old), level: l).compactMap { n -> UInt32? in
                    Int(n) < c.newNode.count && c.newNode[Int(n)] != CarriedGraph.dropped ? c.newNode[Int(n)] : nil
                }
                builder.setNeighbors(of: new, level: l, Array(links.prefix(l == 0 ? builder.m0 : builder.m)))
            }
            if UInt32(old) == c.graph.entryPoint { entry = (new, Int.max) } else if level > entry?.level ?? -1 { entry = (new, level) }
        }
        return entry?.node
    }

    deinit {
        for i in 0..<Self.lockStripes { pthread_mutex_destroy(nodeLocks + i) }
        nodeLocks.deallocate()
        pthread_mutex_destroy(raiseLock)
        raiseLock.deallocate()
        level0Storage.deallocate()
        upperStorage.deallocate()
    }

    public var entryPoint: UInt32 { global.withLock { $0.entryPoint } }
    public var maxLevel: Int { global.withLock { $0.maxLevel } }
    public var level0: [UInt32] { Array(UnsafeBufferPointer(start: level0Storage, count: count * (m0 + 1))) }
    public var upper: [UInt32] { Array(UnsafeBufferPointer(start: upperStorage, count: upperBlocks * (m + 1))) }

    /// Inserts every node, on `threads` threads at CPU priority `nice` (BackgroundThreads);
    /// stops early (the graph then unusable) once `stop` is raised.
    public func build<D: PairDistance & Sendable>(_ d: D, threads: Int = 1, nice: Int32 = 0, stop: StopFlag? = nil) {
        guard count > 0 else { return }
        global.withLock { $0 = start }
        next.store(0, ordering: .relaxed)
        let workers = max(1, min(threads, pending.count / 256 + 1))
        BackgroundThreads.run(count: workers, nice: nice, label: "hsdb.graph") { [self] _ in
            var visited = VisitedSet(count: count)
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                guard i < pending.count, !(stop?.isRaised ?? false) else { return }
                insert(pending[i], d, &visited)
            }
        }
    }

    /// Reads the graph once `build` has returned. The view is valid inside `body` only.
    public func withGraph<R>(_ body: (HNSWGraph) throws -> R) rethrows -> R {
        let (entry, top) = global.withLock { ($0.entryPoint, $0.maxLevel) }
        return try levels.withUnsafeBufferPointer { lv in
            try upperIndex.withUnsafeBufferPointer { ui in
                try body(HNSWGraph(
                    count: count, m: m, m0: m0, entryPoint: entry, maxLevel: top, upperBlockCount: upperBlocks,
                    levels: lv.baseAddress ?? UnsafePointer(bitPattern: 1)!, level0: level0Storage,
                    upperIndex: ui.baseAddress ?? UnsafePointer(bitPattern: 4)!, upper: upperStorage))
            }
        }
    }

    // MARK: Insertion

    private func insert<D: PairDistance>(_ q: UInt32, _ d: D, _ visited: inout VisitedSet) {
        let level = Int(levels[Int(q)])
        var state = global.withLock { $0 }
        // A node that raises the top level holds the raise lock through its insertion and
        // becomes the entry point only once linked, so no one enters through it half-linked.
        var raises = level > state.maxLevel
        if raises {
            pthread_mutex_lock(raiseLock)
            state = global.withLock { $0 }
            raises = level > state.maxLevel
            if !raises { pthread_mutex_unlock(raiseLock) }
        }
        defer {
            if raises {
                global.withLock { s in if level > s.maxLevel { s = (q, level) } }
                pthread_mutex_unlock(raiseLock)
            }
        }
        let source = LockedNeighbors(builder: self)
        let query = FromNode(d: d, node: q)
        var entry = Candidate(distance: d.distance(q, state.entryPoint), node: state.entryPoint)
        if state.maxLevel > level {
            for l in stride(from: state.maxLevel, to: level, by: -1) { entry = source.greedy(query, from: entry, level: l) }
        }
        var entries = [entry]
        for l in stride(from: min(level, state.maxLevel), through: 0, by: -1) {
            visited.reset(count: count)
            let found = source.searchLevel(query, entries: entries, ef: efConstruction, level: l, filter: AcceptAll(), visited: &visited)
            let chosen = selectNeighbors(found.filter { $0.node != q }, max: m, d)
            withLock(q) { setNeighbors(of: q, level: l, chosen.map(\.node)) }
            for c in chosen { link(c.node, to: q, distance: c.distance, level: l, d) }
            entries = found
        }
    }

    /// Held through the insertion of a node that raises the top level (a pthread mutex: it is
    /// held across a long stretch of code, not a closure).
    private let raiseLock: UnsafeMutablePointer<pthread_mutex_t> = {
        let p = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(p, nil)
        return p
    }()

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
        withLock(node) {
            let block = self.block(node, level)
            let n = Int(block[0])
            if (0..<n).contains(where: { block[1 + $0] == q }) { return }
            if n < limit {
                block[1 + n] = q
                block[0] = UInt32(n + 1)
                return
            }
            var candidates = [Candidate(distance: distance, node: q)]
            for i in 0..<n { candidates.append(Candidate(distance: d.distance(node, block[1 + i]), node: block[1 + i])) }
            candidates.sort { $0.distance < $1.distance }
            setNeighbors(of: node, level: level, selectNeighbors(candidates, max: limit, d).map(\.node))
        }
    }

    @inline(__always)
    func block(_ node: UInt32, _ level: Int) -> UnsafeMutablePointer<UInt32> {
        level == 0
            ? level0Storage + Int(node) * (m0 + 1)
            : upperStorage + (Int(upperIndex[Int(node)]) + level - 1) * (m + 1)
    }

    /// Call holding `node`'s lock.
    private func setNeighbors(of node: UInt32, level: Int, _ neighbors: [UInt32]) {
        let b = block(node, level)
        for (i, n) in neighbors.enumerated() { b[1 + i] = n }
        b[0] = UInt32(neighbors.count)
    }

    @inline(__always)
    func withLock<R>(_ node: UInt32, _ body: () -> R) -> R {
        let lock = nodeLocks + Int(node) % Self.lockStripes
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }

    private struct FromNode<D: PairDistance>: NodeDistance {
        let d: D
        let node: UInt32
        @inline(__always) func distance(to other: UInt32) -> Float { d.distance(node, other) }
    }
}

/// The builder's lists read under their node's lock (copied out), for inserts running
/// beside other inserts.
struct LockedNeighbors: NeighborSource {
    let builder: HNSWBuilder
    var nodeCount: Int { builder.count }

    @inline(__always)
    func withNeighbors<R>(of node: UInt32, level: Int, _ body: (UnsafeBufferPointer<UInt32>) -> R) -> R {
        let capacity = level == 0 ? builder.m0 : builder.m
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: capacity) { buffer in
            let n = builder.withLock(node) { () -> Int in
                if level > 0 && builder.upperIndex[Int(node)] == HNSWGraph.noUpperBlock { return 0 }
                let block = builder.block(node, level)
                let n = min(Int(block[0]), capacity)
                for i in 0..<n { buffer[i] = block[1 + i] }
                return n
            }
            return body(UnsafeBufferPointer(rebasing: buffer[0..<n]))
        }
    }
}
