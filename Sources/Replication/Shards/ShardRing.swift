import Crypto
import Foundation
import HSDBCore

/// Which shard holds a point (DESIGN.md, "Shards: routing"): a fixed 64-bit hash of the
/// point's id placed on a ring of virtual nodes, `vnodes` per shard. The hash is the first
/// 8 bytes (big-endian) of SHA-256 over a tagged encoding of the id, so every process,
/// machine, language and version computes the same shard; the ring lets a later split move
/// only the points of the new shard's arcs.
public struct ShardRing: Sendable, Equatable {
    public static let defaultVirtualNodes = 100

    public let shards: Int
    public let virtualNodes: Int
    /// (position, shard), sorted by position then shard.
    let points: [(position: UInt64, shard: Int)]

    public init(shards: Int, virtualNodes: Int = Self.defaultVirtualNodes) {
        precondition(shards >= 1 && virtualNodes >= 1)
        self.shards = shards
        self.virtualNodes = virtualNodes
        var points: [(position: UInt64, shard: Int)] = []
        points.reserveCapacity(shards * virtualNodes)
        for shard in 0..<shards {
            for v in 0..<virtualNodes { points.append((Self.hash(Array("hsdb-shard:\(shard):\(v)".utf8)), shard)) }
        }
        self.points = points.sorted { ($0.position, $0.shard) < ($1.position, $1.shard) }
    }

    public static func == (a: ShardRing, b: ShardRing) -> Bool { a.shards == b.shards && a.virtualNodes == b.virtualNodes }

    /// The shard of `id`: the first virtual node at or after the id's hash, wrapping around.
    public func shard(of id: PointID) -> Int {
        guard shards > 1 else { return 0 }
        let h = Self.hash(id)
        var low = 0
        var high = points.count
        while low < high {
            let mid = (low + high) / 2
            if points[mid].position < h { low = mid + 1 } else { high = mid }
        }
        return points[low == points.count ? 0 : low].shard
    }

    /// The routing hash of a point id: an integer as 0x00 + 8 bytes big-endian, a UUID as
    /// 0x01 + its 16 bytes.
    public static func hash(_ id: PointID) -> UInt64 {
        switch id {
        case .integer(let n):
            return hash([0] + withUnsafeBytes(of: n.bigEndian) { Array($0) })
        case .uuid(let u):
            return hash([1] + withUnsafeBytes(of: u.uuid) { Array($0) })
        }
    }

    /// The first 8 bytes of SHA-256 of `bytes`, big-endian.
    public static func hash(_ bytes: [UInt8]) -> UInt64 {
        SHA256.hash(data: bytes).withUnsafeBytes { raw in raw.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }
    }
}
