import HSDB
import HSDBCore

/// One answer of `GET /replication/collections/{c}/tree`: the tree's root at one LSN, and
/// what was asked below it. DESIGN.md, "State tree", "The endpoint":
///
///     {"lsn", "points", "root": hex,
///      "children"?: [{"level": k, "node": i, "hashes": [16 x hex]}],   (nodes of level k+1)
///      "leaves"?: [{"bucket": b, "id": "5", "version": v, "hash": hex}]}
public struct StateTreeAnswer: Sendable, Equatable {
    public struct Children: Sendable, Equatable {
        /// The parent's level and index; the hashes are its 16 children at level + 1.
        public let level: Int
        public let node: Int
        public let hashes: [[UInt8]]
    }

    public struct BucketLeaf: Sendable, Equatable {
        public let bucket: Int
        public let leaf: StateDigest.Leaf
    }

    public let lsn: UInt64
    public let points: Int
    public let root: [UInt8]
    public var children: [Children] = []
    public var leaves: [BucketLeaf] = []

    /// The answer for `tree` at `lsn`: the children of `nodes` (level, index) and the leaves
    /// of `buckets`. REQUIRES: a settled tree, levels below `StateTree.depth`.
    public init(_ tree: StateTree, lsn: UInt64, childrenOf nodes: [(level: Int, index: Int)] = [], leavesOf buckets: [Int] = []) {
        self.lsn = lsn
        points = tree.points
        root = tree.root
        children = nodes.map { Children(level: $0.level, node: $0.index, hashes: tree.children(level: $0.level, index: $0.index)) }
        leaves = buckets.flatMap { b in tree.leaves(ofBucket: b).map { BucketLeaf(bucket: b, leaf: StateDigest.Leaf($0)) } }
    }

    init(lsn: UInt64, points: Int, root: [UInt8], children: [Children], leaves: [BucketLeaf]) {
        (self.lsn, self.points, self.root, self.children, self.leaves) = (lsn, points, root, children, leaves)
    }
}

// MARK: JSON

extension StateTreeAnswer {
    public func json() -> JSONValue {
        var o: [String: JSONValue] = ["lsn": .int(Int64(lsn)), "points": .int(Int64(points)), "root": .string(StateDigest.hex(root))]
        if !children.isEmpty {
            o["children"] = .array(children.map {
                .object(["level": .int(Int64($0.level)), "node": .int(Int64($0.node)), "hashes": .array($0.hashes.map { .string(StateDigest.hex($0)) })])
            })
        }
        if !leaves.isEmpty {
            o["leaves"] = .array(leaves.map {
                .object([
                    "bucket": .int(Int64($0.bucket)), "id": .string($0.leaf.id), "version": .int(Int64($0.leaf.version)),
                    "hash": .string(StateDigest.hex($0.leaf.hash)),
                ])
            })
        }
        return .object(o)
    }

    public static func decode(_ value: JSONValue) throws(ReplicationError) -> StateTreeAnswer {
        func bad(_ why: String) -> ReplicationError { .leader(status: 200, message: "malformed state tree answer: \(why)") }
        guard case .object(let o) = value, case .int(let lsn)? = o["lsn"], lsn >= 0, case .int(let points)? = o["points"],
            case .string(let r)? = o["root"], let root = StateDigest.unhex(r)
        else { throw bad("expected lsn, points and root") }
        var children: [Children] = []
        if case .array(let list)? = o["children"] {
            for item in list {
                guard case .object(let c) = item, case .int(let level)? = c["level"], case .int(let node)? = c["node"],
                    case .array(let hs)? = c["hashes"], hs.count == StateTree.fanout
                else { throw bad("a children entry lacks level, node or 16 hashes") }
                var hashes: [[UInt8]] = []
                for h in hs {
                    guard case .string(let text) = h, let bytes = StateDigest.unhex(text) else { throw bad("a hash is not hex") }
                    hashes.append(bytes)
                }
                children.append(Children(level: Int(level), node: Int(node), hashes: hashes))
            }
        }
        var leaves: [BucketLeaf] = []
        if case .array(let list)? = o["leaves"] {
            for item in list {
                guard case .object(let l) = item, case .int(let b)? = l["bucket"], case .string(let id)? = l["id"],
                    case .int(let version)? = l["version"], version >= 0, case .string(let h)? = l["hash"], let hash = StateDigest.unhex(h)
                else { throw bad("a leaf lacks bucket, id, version or hash") }
                leaves.append(BucketLeaf(bucket: Int(b), leaf: StateDigest.Leaf(id: id, version: UInt64(version), hash: hash)))
            }
        }
        return StateTreeAnswer(lsn: UInt64(lsn), points: Int(points), root: root, children: children, leaves: leaves)
    }
}
