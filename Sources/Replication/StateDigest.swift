import Crypto
import Foundation
import HSDB
import HSDBCore

/// A proof of a collection's state at one LSN: 256 buckets of points by their id, a hash per
/// bucket and a root over them. Differing roots name the buckets, and a bucket's leaves name
/// the points. DESIGN.md, "Replication", "State digest". Two kinds:
///
/// - `versions` (the default): the root of the collection's state tree (`StateTree`), over
///   (id, version) of the live points, kept up to date by every write; its levels are
///   compared through `GET .../tree` (`StateTreeAnswer`).
/// - `content`: computed on demand from one snapshot, reading every point:
///
///       leaf   = SHA-256(id | version u64 | dimension u32 | vector f32 x dimension | payload)
///       bucket = CRC32C(id) & 0xFF; bucket hash = SHA-256(its leaves, in id order)
///       root   = SHA-256(the 256 bucket hashes, in bucket order)
///
///   integers little-endian, payload in the engine's canonical encoding (sorted keys).
public struct StateDigest: Sendable, Equatable {
    public static let bucketCount = 256

    public enum Kind: String, Sendable {
        case versions, content
    }

    public struct Leaf: Sendable, Equatable {
        /// The id as text (`5`, or a UUID), as `PointID` prints it.
        public let id: String
        public let version: UInt64
        public let hash: [UInt8]

        public init(id: String, version: UInt64, hash: [UInt8]) {
            (self.id, self.version, self.hash) = (id, version, hash)
        }

        init(_ leaf: StateTree.Leaf) {
            self.init(id: leaf.id.description, version: leaf.version, hash: leaf.hashBytes)
        }
    }

    public let kind: Kind
    public let lsn: UInt64
    public let points: Int
    public let root: [UInt8]
    public let buckets: [[UInt8]]
    /// The leaves of one bucket, when asked for.
    public let leaves: [Leaf]?

    /// The state tree's root as of the collection's applied LSN (no buckets: the tree's
    /// levels are read through `GET .../tree`), with the leaves of tree bucket `bucket` if given.
    public static func kept(_ collection: Collection, leavesOf bucket: Int? = nil) -> StateDigest {
        let t = collection.stateTree()
        return StateDigest(
            kind: .versions, lsn: t.lsn, points: t.tree.points, root: t.tree.root, buckets: [],
            leaves: bucket.map { t.tree.leaves(ofBucket: $0).map(Leaf.init) })
    }

    /// Computes the content digest of `collection` as of its current LSN, with the leaves of
    /// `bucket` if given.
    public static func compute(_ collection: Collection, leavesOf bucket: Int? = nil) async throws -> StateDigest {
        try await runBlocking("hsdb.digest") {
            var hashers = [SHA256](repeating: SHA256(), count: bucketCount)
            var leaves: [Leaf] = []
            var points = 0
            let lsn = try collection.forEachLivePage(projection: Projection(withVector: true, withPayload: true)) { page in
                for r in page {
                    let id = idBytes(r.id)
                    let b = Int(CRC32C.checksum(id) & 0xFF)
                    let leaf = leafHash(id: id, record: r)
                    hashers[b].update(data: leaf)
                    if b == bucket { leaves.append(Leaf(id: r.id.description, version: r.version, hash: leaf)) }
                    points += 1
                }
            }
            let buckets = hashers.map { Array($0.finalize()) }
            var root = SHA256()
            for h in buckets { root.update(data: h) }
            return StateDigest(kind: .content, lsn: lsn, points: points, root: Array(root.finalize()), buckets: buckets, leaves: bucket == nil ? nil : leaves)
        }
    }

    static func idBytes(_ id: PointID) -> [UInt8] {
        var w = ByteWriter(capacity: 17)
        OperationCodec.writeID(id, into: &w)
        return w.bytes
    }

    static func leafHash(id: [UInt8], record r: Record) -> [UInt8] {
        var w = ByteWriter(capacity: 64 + 4 * (r.vector?.count ?? 0))
        w.write(bytes: id)
        w.write(r.version)
        let vector = r.vector ?? []
        w.write(UInt32(vector.count))
        for x in vector { w.write(x.bitPattern) }
        PayloadCodec.encode(r.payload ?? [:], into: &w)
        // Sparse vectors, when the point has any, as the WAL writes them (so a point without
        // them hashes as before sparse vectors existed).
        if let sparse = r.sparse, !sparse.isEmpty { OperationCodec.writeSparse(sparse, into: &w) }
        return Array(SHA256.hash(data: w.bytes))
    }
}

// MARK: JSON (GET /replication/collections/{c}/digest)

extension StateDigest {
    /// `{"kind": "versions" | "content", "lsn", "points", "root": hex, "buckets": [256 x hex], "leaves"?: [{"id": "<id>",
    /// "version", "hash": hex}]}`; ids as text (`5`, or a UUID), as `PointID` prints them.
    public func json() -> JSONValue {
        var o: [String: JSONValue] = [
            "kind": .string(kind.rawValue), "lsn": .int(Int64(lsn)), "points": .int(Int64(points)), "root": .string(Self.hex(root)),
            "buckets": .array(buckets.map { .string(Self.hex($0)) }),
        ]
        if let leaves {
            o["leaves"] = .array(leaves.map { .object(["id": .string($0.id), "version": .int(Int64($0.version)), "hash": .string(Self.hex($0.hash))]) })
        }
        return .object(o)
    }

    /// A digest as `json()` writes it.
    public static func decode(_ value: JSONValue) throws(ReplicationError) -> StateDigest {
        func bad(_ why: String) -> ReplicationError { .leader(status: 200, message: "malformed digest: \(why)") }
        guard case .object(let o) = value, case .int(let lsn)? = o["lsn"], case .int(let points)? = o["points"],
            case .string(let rootHex)? = o["root"], let root = unhex(rootHex), case .array(let list)? = o["buckets"],
            case .string(let k)? = o["kind"], let kind = Kind(rawValue: k), list.count == (kind == .content ? bucketCount : 0)
        else { throw bad("expected kind, lsn, points, root and buckets (256 of content, none of versions)") }
        var buckets: [[UInt8]] = []
        for item in list {
            guard case .string(let h) = item, let b = unhex(h) else { throw bad("a bucket hash is not hex") }
            buckets.append(b)
        }
        var leaves: [Leaf]?
        if case .array(let items)? = o["leaves"] {
            leaves = []
            for item in items {
                guard case .object(let l) = item, case .string(let id)? = l["id"], case .int(let version)? = l["version"],
                    case .string(let h)? = l["hash"], let hash = unhex(h)
                else { throw bad("a leaf lacks id, version or hash") }
                leaves!.append(Leaf(id: id, version: UInt64(max(0, version)), hash: hash))
            }
        }
        return StateDigest(kind: kind, lsn: UInt64(max(0, lsn)), points: Int(points), root: root, buckets: buckets, leaves: leaves)
    }

    public static func hex(_ bytes: [UInt8]) -> String { bytes.lowercaseHex }

    static func unhex(_ text: String) -> [UInt8]? {
        guard text.utf8.count == 64 else { return nil }
        return LogHash(hex: text)?.bytes
    }
}
