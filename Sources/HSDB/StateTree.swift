import Crypto
import HSDBCore

/// A Merkle tree over a collection's live points as (id, version) leaves, kept up to date by
/// every write. DESIGN.md, "State tree":
///
///     id      = kind u8 (0: integer, then u64; 1: UUID, then 16 bytes)
///     leaf    = SHA-256(id | version u64)
///     bucket  = CRC32C(id) & 0xFFF               (4,096 buckets, 16^3)
///     level 3 = bucket hash = SHA-256(0x01 | the bucket's leaves, sorted bytewise)
///     level k = SHA-256(0x02 | the 16 hashes of its children at level k+1), k = 2, 1, 0
///     root    = the one node at level 0
///
/// A write costs one SHA-256 (its leaf) and a sorted insert into its bucket; hashes above
/// the leaves are recomputed lazily, for the buckets written since (`settle`).
public struct StateTree: Sendable {
    public static let fanout = 16
    public static let depth = 3
    public static let bucketCount = 4096
    static let bucketTag: UInt8 = 1
    static let nodeTag: UInt8 = 2

    /// A leaf: its hash, and the point it stands for.
    public struct Leaf: Sendable, Equatable {
        let hash: LeafHash
        public let id: PointID
        public let version: UInt64
        public var hashBytes: [UInt8] { hash.bytes }
    }

    /// Leaves per bucket, by hash.
    private var buckets = [[Leaf]](repeating: [], count: bucketCount)
    /// Node hashes, level by level from the root: 1 + 16 + 256 + 4,096.
    private var nodes: [LeafHash]
    /// Buckets written since the hashes were last settled.
    private var dirty = Set<Int>()
    /// Counts writes from a random start: two copies with one generation hold the same leaves.
    private(set) var generation = UInt64.random(in: 0...UInt64.max)
    public private(set) var points = 0

    public init() {
        nodes = Self.emptyNodes
    }

    public mutating func insert(_ id: PointID, version: UInt64) {
        let leaf = Self.makeLeaf(id, version: version)
        let b = Self.bucket(idBytes: leaf.idBytes)
        let at = Self.position(of: leaf.hash, in: buckets[b])
        buckets[b].insert(Leaf(hash: leaf.hash, id: id, version: version), at: at)
        touched(b)
        points += 1
    }

    public mutating func remove(_ id: PointID, version: UInt64) {
        let leaf = Self.makeLeaf(id, version: version)
        let b = Self.bucket(idBytes: leaf.idBytes)
        let at = Self.position(of: leaf.hash, in: buckets[b])
        guard at < buckets[b].count, buckets[b][at].hash == leaf.hash else { return }  // not held: nothing to remove
        buckets[b].remove(at: at)
        touched(b)
        points -= 1
    }

    private mutating func touched(_ bucket: Int) {
        dirty.insert(bucket)
        generation &+= 1
    }

    /// Whether every hash is current (no bucket written since the last `settle`).
    public var isSettled: Bool { dirty.isEmpty }

    /// Recomputes the hashes above the buckets written since the last call.
    public mutating func settle() {
        guard !dirty.isEmpty else { return }
        var parents = Set<Int>()
        for b in dirty {
            nodes[Self.offset(level: Self.depth) + b] = Self.bucketHash(buckets[b])
            parents.insert(b / Self.fanout)
        }
        dirty.removeAll()
        for level in stride(from: Self.depth - 1, through: 0, by: -1) {
            var next = Set<Int>()
            for n in parents {
                nodes[Self.offset(level: level) + n] = nodeHash(level: level, index: n)
                next.insert(n / Self.fanout)
            }
            parents = next
        }
    }

    /// A copy with every hash current.
    public func settled() -> StateTree {
        var copy = self
        copy.settle()
        return copy
    }

    // MARK: Reading (a settled tree)

    public var root: [UInt8] {
        precondition(isSettled, "settle the tree before reading hashes")
        return nodes[0].bytes
    }

    /// The hash of node `index` at `level` (0: the root; `depth`: the buckets).
    public func hash(level: Int, index: Int) -> [UInt8] {
        precondition(isSettled, "settle the tree before reading hashes")
        return nodes[Self.offset(level: level) + index].bytes
    }

    /// The hashes of the 16 children of node `index` at `level` (< `depth`).
    public func children(level: Int, index: Int) -> [[UInt8]] {
        (0..<Self.fanout).map { hash(level: level + 1, index: index * Self.fanout + $0) }
    }

    /// The leaves of `bucket`, by hash.
    public func leaves(ofBucket bucket: Int) -> [Leaf] { buckets[bucket] }

    /// Every leaf, bucket by bucket.
    public func forEachLeaf(_ body: (Int, Leaf) -> Void) {
        for b in buckets.indices { for leaf in buckets[b] { body(b, leaf) } }
    }

    private func nodeHash(level: Int, index: Int) -> LeafHash {
        let first = Self.offset(level: level + 1) + index * Self.fanout
        return Self.hashNode(nodes[first..<(first + Self.fanout)])
    }

    /// Where level `level` starts in `nodes`: 16^0 + ... + 16^(level-1).
    static func offset(level: Int) -> Int { (0..<level).reduce(0) { $0 + (1 << (4 * $1)) } }

    /// Equal trees: the same leaves (the hashes follow from them).
    public static func == (a: StateTree, b: StateTree) -> Bool { a.points == b.points && a.buckets == b.buckets }
}

extension StateTree: Equatable {}
