import Crypto
import HSDBCore

/// The set of a collection's live points as (id, version) pairs, kept up to date on every
/// write: 256 buckets, each the XOR of its points' leaves, and a root over them. Two copies
/// with the same root at the same LSN hold the same ids at the same versions; as a version
/// is the LSN of the write, and copies hold the same log (checked by the replication hash),
/// that means the same points. DESIGN.md, "Kept state digest":
///
///     id     = kind u8 (0: integer, then u64; 1: UUID, then 16 bytes)
///     leaf   = SHA-256(id | version u64)
///     bucket = CRC32C(id) & 0xFF (unmasked; a point's bucket never changes)
///     bucket hash = XOR of its points' leaves (32 zero bytes when empty)
///     root   = SHA-256(the 256 bucket hashes, in bucket order)
///
/// Deleted points are absent: a tombstone is not a leaf, so compaction, which drops
/// tombstones on each copy at its own time, never changes the digest. XOR makes the update
/// O(1): a write removes the previous version's leaf and adds the new one.
public struct PointSetDigest: Sendable, Equatable {
    public static let bucketCount = 256
    static let wordsPerLeaf = 4

    /// 256 x 32 bytes, as 4 little-endian words per bucket.
    private var words = [UInt64](repeating: 0, count: bucketCount * wordsPerLeaf)
    /// Live points.
    public private(set) var points = 0

    public init() {}

    public mutating func insert(_ id: PointID, version: UInt64) {
        toggle(id, version)
        points += 1
    }

    public mutating func remove(_ id: PointID, version: UInt64) {
        toggle(id, version)
        points -= 1
    }

    private mutating func toggle(_ id: PointID, _ version: UInt64) {
        let bytes = Self.idBytes(id)
        let base = Self.bucket(idBytes: bytes) * Self.wordsPerLeaf
        Self.leaf(idBytes: bytes, version: version).withUnsafeBytes { leaf in
            for i in 0..<Self.wordsPerLeaf { words[base + i] ^= leaf.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self) }
        }
    }

    /// Folds another digest of disjoint points into this one (digests of parts add up).
    public mutating func merge(_ other: PointSetDigest) {
        for i in words.indices { words[i] ^= other.words[i] }
        points += other.points
    }

    /// The 32-byte hash of bucket `index`.
    public func bucketHash(_ index: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { raw in
            for i in 0..<Self.wordsPerLeaf { raw.storeBytes(of: words[index * Self.wordsPerLeaf + i], toByteOffset: 8 * i, as: UInt64.self) }
        }
        return out
    }

    public var buckets: [[UInt8]] { (0..<Self.bucketCount).map(bucketHash) }

    public var root: [UInt8] {
        var h = SHA256()
        for b in 0..<Self.bucketCount { h.update(data: bucketHash(b)) }  // byte order spelled out, not the words' memory
        return Array(h.finalize())
    }

    // MARK: The pieces, for listing a bucket's leaves

    public static func idBytes(_ id: PointID) -> [UInt8] {
        var w = ByteWriter(capacity: 17)
        OperationCodec.writeID(id, into: &w)
        return w.bytes
    }

    public static func bucket(of id: PointID) -> Int { bucket(idBytes: idBytes(id)) }

    static func bucket(idBytes: [UInt8]) -> Int { Int(CRC32C.checksum(idBytes) & 0xFF) }

    public static func leaf(_ id: PointID, version: UInt64) -> [UInt8] { Array(leaf(idBytes: idBytes(id), version: version)) }

    static func leaf(idBytes: [UInt8], version: UInt64) -> SHA256.Digest {
        var h = SHA256()
        h.update(data: idBytes)
        withUnsafeBytes(of: version.littleEndian) { h.update(bufferPointer: $0) }
        return h.finalize()
    }
}
