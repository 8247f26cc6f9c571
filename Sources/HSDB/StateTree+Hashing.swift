import Crypto
import HSDBCore

/// A 32-byte SHA-256 as four big-endian words, so comparing words compares bytes.
struct LeafHash: Sendable, Hashable, Comparable {
    var w0, w1, w2, w3: UInt64

    init(_ digest: SHA256.Digest) {
        (w0, w1, w2, w3) = digest.withUnsafeBytes { raw in
            (
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            )
        }
    }

    static func < (a: LeafHash, b: LeafHash) -> Bool { (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3) }

    var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        append(to: &out)
        return out
    }

    func append(to out: inout [UInt8]) {
        for w in [w0, w1, w2, w3] { withUnsafeBytes(of: w.bigEndian) { out.append(contentsOf: $0) } }
    }
}

extension StateTree {
    public static func idBytes(_ id: PointID) -> [UInt8] {
        var w = ByteWriter(capacity: 17)
        OperationCodec.writeID(id, into: &w)
        return w.bytes
    }

    public static func bucket(of id: PointID) -> Int { bucket(idBytes: idBytes(id)) }

    static func bucket(idBytes: [UInt8]) -> Int { Int(CRC32C.checksum(idBytes) & 0xFFF) }

    /// The 32-byte leaf of `id` at `version`.
    public static func leaf(_ id: PointID, version: UInt64) -> [UInt8] { makeLeaf(id, version: version).hash.bytes }

    static func makeLeaf(_ id: PointID, version: UInt64) -> (idBytes: [UInt8], hash: LeafHash) {
        let bytes = idBytes(id)
        var h = SHA256()
        h.update(data: bytes)
        withUnsafeBytes(of: version.littleEndian) { h.update(bufferPointer: $0) }
        return (bytes, LeafHash(h.finalize()))
    }

    /// The first index in `leaves` whose hash is not below `hash`.
    static func position(of hash: LeafHash, in leaves: [Leaf]) -> Int {
        var (lo, hi) = (0, leaves.count)
        while lo < hi {
            let mid = (lo + hi) / 2
            if leaves[mid].hash < hash { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    static func bucketHash(_ leaves: [Leaf]) -> LeafHash {
        var bytes = [bucketTag]
        bytes.reserveCapacity(1 + 32 * leaves.count)
        for leaf in leaves { leaf.hash.append(to: &bytes) }
        return LeafHash(SHA256.hash(data: bytes))
    }

    static func hashNode(_ children: ArraySlice<LeafHash>) -> LeafHash {
        var bytes = [nodeTag]
        bytes.reserveCapacity(1 + 32 * children.count)
        for c in children { c.append(to: &bytes) }
        return LeafHash(SHA256.hash(data: bytes))
    }

    /// Every node of the empty tree: each level's nodes are alike.
    static let emptyNodes: [LeafHash] = {
        var perLevel = [bucketHash([])]
        for _ in 0..<depth { perLevel.insert(hashNode(ArraySlice(repeating: perLevel[0], count: fanout)), at: 0) }
        return (0...depth).flatMap { level in [LeafHash](repeating: perLevel[level], count: 1 << (4 * level)) }
    }()
}

extension StateTree {
    /// The root of the digest backups recorded before the tree (DESIGN.md, "State tree",
    /// "Earlier digest"): 256 buckets by CRC32C(id) & 0xFF, each the XOR of its leaves, and
    /// SHA-256 over the 256 bucket hashes. Computed from the leaves, for restore's check of
    /// those backups.
    public var xorRoot: [UInt8] {
        var xor = [LeafHash](repeating: LeafHash(w0: 0, w1: 0, w2: 0, w3: 0), count: 256)
        for b in 0..<Self.bucketCount {
            for leaf in leaves(ofBucket: b) {
                xor[b & 0xFF].w0 ^= leaf.hash.w0
                xor[b & 0xFF].w1 ^= leaf.hash.w1
                xor[b & 0xFF].w2 ^= leaf.hash.w2
                xor[b & 0xFF].w3 ^= leaf.hash.w3
            }
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(256 * 32)
        for h in xor { h.append(to: &bytes) }
        return Array(SHA256.hash(data: bytes))
    }
}

extension LeafHash {
    init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }
}
