import HSDB
import HSDBCore

/// One copy's state tree at one LSN, asked one level at a time.
public protocol StateTreeSource: Sendable {
    /// One round trip: the children of `nodes` of `level` (hashes below the buckets' level,
    /// the buckets' leaves at it).
    func children(level: Int, of nodes: [Int]) async throws -> StateTreeAnswer
}

/// What differs between two trees, and what it took to find it.
public struct StateTreeDifferences: Sendable {
    public struct Changed: Sendable {
        public let id: String
        public let first: UInt64
        public let second: UInt64
    }

    /// The buckets whose hashes differ.
    public var buckets: [Int] = []
    /// Points held by the first copy only, and by the second only (id order).
    public var onlyFirst: [StateDigest.Leaf] = []
    public var onlySecond: [StateDigest.Leaf] = []
    /// Points both hold, at different versions.
    public var changed: [Changed] = []
    /// Requests made to each side, the roots' not counted.
    public var roundTrips = 0

    public var ids: Set<String> { Set(onlyFirst.map(\.id) + onlySecond.map(\.id) + changed.map(\.id)) }
}

public enum StateTreeComparison {
    /// Descends both trees from the root, one level per round trip, into the nodes whose
    /// hashes differ, then lists the differing buckets' leaves: `depth + 1` round trips per
    /// side (asked of both sides at once), whatever the number of points.
    public static func locate(_ first: some StateTreeSource, _ second: some StateTreeSource) async throws -> StateTreeDifferences {
        var result = StateTreeDifferences()
        var differing = [0]
        for level in 0..<StateTree.depth {
            guard !differing.isEmpty else { return result }
            let asked = differing
            async let a = first.children(level: level, of: asked)
            async let b = second.children(level: level, of: asked)
            let (x, y) = try await (a, b)
            result.roundTrips += 1
            let theirs = Dictionary(y.children.map { ($0.node, $0.hashes) }, uniquingKeysWith: { a, _ in a })
            var next: [Int] = []
            for c in x.children {
                guard let other = theirs[c.node] else { throw ReplicationError.leader(status: 200, message: "a tree answer left out node \(c.node)") }
                for i in 0..<StateTree.fanout where c.hashes[i] != other[i] { next.append(c.node * StateTree.fanout + i) }
            }
            differing = next.sorted()
        }
        result.buckets = differing
        guard !differing.isEmpty else { return result }
        let buckets = differing
        async let a = first.children(level: StateTree.depth, of: buckets)
        async let b = second.children(level: StateTree.depth, of: buckets)
        let (x, y) = try await (a, b)
        result.roundTrips += 1
        compareLeaves(x.leaves.map(\.leaf), y.leaves.map(\.leaf), into: &result)
        return result
    }

    private static func compareLeaves(_ x: [StateDigest.Leaf], _ y: [StateDigest.Leaf], into result: inout StateTreeDifferences) {
        let mine = Dictionary(x.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let theirs = Dictionary(y.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for id in Set(mine.keys).union(theirs.keys).sorted() {
            switch (mine[id], theirs[id]) {
            case (let a?, nil): result.onlyFirst.append(a)
            case (nil, let b?): result.onlySecond.append(b)
            case (let a?, let b?) where a.hash != b.hash: result.changed.append(.init(id: id, first: a.version, second: b.version))
            default: break
            }
        }
    }
}

/// A tree held here (a copy opened in this process, or in tests).
public struct LocalStateTree: StateTreeSource {
    public let tree: StateTree
    public let lsn: UInt64

    public init(_ tree: StateTree, lsn: UInt64) {
        self.tree = tree.settled()
        self.lsn = lsn
    }

    public func children(level: Int, of nodes: [Int]) async throws -> StateTreeAnswer {
        level < StateTree.depth
            ? StateTreeAnswer(tree, lsn: lsn, childrenOf: nodes.map { (level, $0) })
            : StateTreeAnswer(tree, lsn: lsn, leavesOf: nodes)
    }
}
