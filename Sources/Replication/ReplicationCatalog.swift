import HSDB
import HSDBCore

/// The leader's collections as a follower copies them: name, config and payload indexes.
/// One codec for `GET /replication/collections` (DESIGN.md, "Replication"):
///
///     {"epoch": E, "collections": [{"name": "c", "dimension": 384, "metric": 1,
///       "hnsw_m": 16, "ef_construct": 200, "attributes": {...},
///       "payload_indexes": {"key": 1}, "durable_lsn": N,
///       "tree": {"lsn": L, "points": P, "root": hex},
///       "sparse_vectors": {"name": 0},
///       "named_vectors": [{"name": "n", "dimension": 4, "metric": 2, "hnsw_m": 16,
///                          "ef_construct": 100, "multivector": false}]}, ...]}
///
/// `metric`, index types and sparse modifiers are the engine's frozen raw values (Metric,
/// PayloadIndexType, SparseVectorParameters.Modifier). `sparse_vectors` and `named_vectors`
/// (the further dense vectors, in lane order) are left out when there are none (and absent
/// from leaders that predate them). `tree` is the state tree's root at the applied LSN L
/// (absent from leaders before 2026-12-07).
public struct ReplicationCatalog: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var config: CollectionConfig
        public var payloadIndexes: [String: PayloadIndexType]
        public var durableLSN: UInt64
        public var tree: TreeRoot? = nil
    }

    /// A state tree's root at one LSN.
    public struct TreeRoot: Sendable, Equatable {
        public var lsn: UInt64
        public var points: Int
        public var root: [UInt8]
    }

    public var epoch: UInt64
    public var collections: [Entry]

    public static func of(_ db: Database, epoch: UInt64) throws -> ReplicationCatalog {
        let entries = try db.listCollections().map { item in
            let c = try db.collection(item.name)
            let t = c.stateTree()
            return Entry(
                name: item.name, config: item.config, payloadIndexes: c.payloadIndexes, durableLSN: c.durableLSN,
                tree: TreeRoot(lsn: t.lsn, points: t.tree.points, root: t.tree.root))
        }
        return ReplicationCatalog(epoch: epoch, collections: entries)
    }

    public func json() -> JSONValue {
        .object([
            "epoch": .int(Int64(epoch)),
            "collections": .array(collections.map { e in
                var o: Payload = [
                    "name": .string(e.name),
                    "dimension": .int(Int64(e.config.dimension)),
                    "metric": .int(Int64(e.config.metric.rawValue)),
                    "hnsw_m": .int(Int64(e.config.hnswM)),
                    "ef_construct": .int(Int64(e.config.hnswEfConstruction)),
                    "attributes": .object(e.config.attributes),
                    "payload_indexes": .object(e.payloadIndexes.mapValues { .int(Int64($0.rawValue)) }),
                    "durable_lsn": .int(Int64(e.durableLSN)),
                ]
                if !e.config.sparseVectors.isEmpty {
                    o["sparse_vectors"] = .object(e.config.sparseVectors.mapValues { .int(Int64($0.modifier.rawValue)) })
                }
                if !e.config.namedVectors.isEmpty { o["named_vectors"] = .array(e.config.namedVectors.map(Self.json)) }
                if let t = e.tree {
                    o["tree"] = .object(["lsn": .int(Int64(t.lsn)), "points": .int(Int64(t.points)), "root": .string(StateDigest.hex(t.root))])
                }
                return .object(o)
            }),
        ])
    }

    public static func decode(_ value: JSONValue) throws(ReplicationError) -> ReplicationCatalog {
        func bad(_ why: String) -> ReplicationError { .leader(status: 200, message: "malformed collection catalogue: \(why)") }
        guard case .object(let top) = value, case .int(let epoch)? = top["epoch"], case .array(let list)? = top["collections"] else {
            throw bad("expected {\"epoch\", \"collections\"}")
        }
        var entries: [Entry] = []
        for item in list {
            guard case .object(let o) = item, case .string(let name)? = o["name"],
                case .int(let dimension)? = o["dimension"], case .int(let metricRaw)? = o["metric"],
                let metric = Metric(rawValue: UInt8(clamping: metricRaw)),
                case .int(let m)? = o["hnsw_m"], case .int(let ef)? = o["ef_construct"],
                case .object(let attributes)? = o["attributes"], case .object(let indexes)? = o["payload_indexes"],
                case .int(let durable)? = o["durable_lsn"]
            else { throw bad("a collection entry lacks a field or has one of the wrong type") }
            var types: [String: PayloadIndexType] = [:]
            for (key, raw) in indexes {
                guard case .int(let r) = raw, let t = PayloadIndexType(rawValue: UInt8(clamping: r)) else { throw bad("payload index type of '\(key)'") }
                types[key] = t
            }
            var sparse: [String: SparseVectorParameters] = [:]
            if case .object(let declared)? = o["sparse_vectors"] {
                for (key, raw) in declared {
                    guard case .int(let r) = raw, let modifier = SparseVectorParameters.Modifier(rawValue: UInt8(clamping: r)) else {
                        throw bad("sparse vector modifier of '\(key)'")
                    }
                    sparse[key] = SparseVectorParameters(modifier: modifier)
                }
            }
            var named: [NamedVectorConfig] = []
            if case .array(let lanes)? = o["named_vectors"] {
                named = try lanes.map { lane throws(ReplicationError) in
                    guard let v = namedVector(lane) else { throw bad("a named vector entry lacks a field or has one of the wrong type") }
                    return v
                }
            }
            let config = CollectionConfig(
                dimension: Int(dimension), metric: metric, hnswM: Int(m), hnswEfConstruction: Int(ef), sparseVectors: sparse,
                namedVectors: named, attributes: attributes)
            var tree: TreeRoot?
            if let t = o["tree"] {
                guard case .object(let r) = t, case .int(let lsn)? = r["lsn"], lsn >= 0, case .int(let points)? = r["points"],
                    case .string(let hex)? = r["root"], let root = StateDigest.unhex(hex)
                else { throw bad("collection '\(name)': tree lacks lsn, points or root") }
                tree = TreeRoot(lsn: UInt64(lsn), points: Int(points), root: root)
            }
            entries.append(Entry(name: name, config: config, payloadIndexes: types, durableLSN: UInt64(max(0, durable)), tree: tree))
        }
        return ReplicationCatalog(epoch: UInt64(max(0, epoch)), collections: entries)
    }

    static func json(_ v: NamedVectorConfig) -> JSONValue {
        .object([
            "name": .string(v.name), "dimension": .int(Int64(v.dimension)), "metric": .int(Int64(v.metric.rawValue)),
            "hnsw_m": .int(Int64(v.hnswM)), "ef_construct": .int(Int64(v.hnswEfConstruction)), "multivector": .bool(v.multivector),
        ])
    }

    static func namedVector(_ value: JSONValue) -> NamedVectorConfig? {
        guard case .object(let o) = value, case .string(let name)? = o["name"], case .int(let dimension)? = o["dimension"],
            case .int(let metricRaw)? = o["metric"], let metric = Metric(rawValue: UInt8(clamping: metricRaw)),
            case .int(let m)? = o["hnsw_m"], case .int(let ef)? = o["ef_construct"], case .bool(let multivector)? = o["multivector"]
        else { return nil }
        return NamedVectorConfig(
            name: name, dimension: Int(dimension), metric: metric, hnswM: Int(m), hnswEfConstruction: Int(ef), multivector: multivector)
    }
}
