import Foundation

/// A sharded collection's map, the value of `/hsdb/<cluster>/collections/<name>` (DESIGN.md,
/// "Shards"): its shards, each a replica group of `replicationFactor` copies on distinct
/// nodes, and how points are routed to them. Changed only by a transaction guarded on the
/// key's mod revision (`revision`), which every request routed by the map carries.
public struct ShardMap: Codable, Sendable, Equatable {
    public struct Shard: Codable, Sendable, Equatable {
        public var id: Int
        /// The nodes (by `--node-id`) that hold a copy, in placement order.
        public var replicas: [String]

        public init(id: Int, replicas: [String]) {
            self.id = id
            self.replicas = replicas
        }
    }

    /// A copy being made (`to`, already among the shard's replicas) from the shard's leader;
    /// when it has caught up, `from` leaves the replicas (a move) or stays (`sync`: a
    /// replication). The destination node drives it; its copy may not lead until then.
    public struct Transfer: Codable, Sendable, Equatable {
        public var shard: Int
        public var from: String
        public var to: String
        public var sync: Bool

        public init(shard: Int, from: String, to: String, sync: Bool) {
            self.shard = shard
            self.from = from
            self.to = to
            self.sync = sync
        }
    }

    public var name: String
    /// Names this incarnation of the collection: its shard groups' directories and etcd keys
    /// (a collection dropped and created again under the same name shares nothing with the old).
    public var uid: String
    public var replicationFactor: Int
    public var writeConsistencyFactor: Int
    public var virtualNodes: Int
    /// The create request's body as given (JSON text): each copy creates its collection from it.
    public var config: String
    public var shards: [Shard]
    /// Transfers under way (absent when none).
    public var transfers: [Transfer]?
    /// Each replica's node id (`NODE`), so its peer id is known even while it is down.
    public var nodeIDs: [String: String]?
    /// The key's mod revision in etcd when read (not part of the stored value).
    public var revision: Int64 = 0

    enum CodingKeys: String, CodingKey {
        case name, uid, config, shards, transfers
        case nodeIDs = "node_ids"
        case replicationFactor = "replication_factor"
        case writeConsistencyFactor = "write_consistency_factor"
        case virtualNodes = "virtual_nodes"
    }

    public init(
        name: String, uid: String, replicationFactor: Int, writeConsistencyFactor: Int, virtualNodes: Int = ShardRing.defaultVirtualNodes,
        config: String, shards: [Shard]
    ) {
        self.name = name
        self.uid = uid
        self.replicationFactor = replicationFactor
        self.writeConsistencyFactor = writeConsistencyFactor
        self.virtualNodes = virtualNodes
        self.config = config
        self.shards = shards
    }

    public var ring: ShardRing { ShardRing(shards: shards.count, virtualNodes: virtualNodes) }

    /// Places `shardNumber` shards of `replicationFactor` copies on `nodes` (names): shard k on
    /// the nodes k, k+1, ... of the sorted list, so copies of a shard are on distinct nodes and
    /// the shards' first copies spread round the nodes.
    public static func place(shardNumber: Int, replicationFactor: Int, on nodes: [String]) -> [Shard] {
        let sorted = nodes.sorted()
        return (0..<shardNumber).map { k in
            Shard(id: k, replicas: (0..<replicationFactor).map { sorted[(k + $0) % sorted.count] })
        }
    }

    public var pendingTransfers: [Transfer] { transfers ?? [] }

    /// The transfer under way into shard `shard`, if any.
    public func transfer(into shard: Int) -> Transfer? { pendingTransfers.first { $0.shard == shard } }

    /// The shards with a copy on `node`.
    public func shards(on node: String) -> [Int] { shards.filter { $0.replicas.contains(node) }.map(\.id) }

    public func encoded() -> [UInt8] { ClusterJSON.encode(self) }

    public static func decode(_ bytes: [UInt8]?, revision: Int64) -> ShardMap? {
        guard var map = ClusterJSON.decode(ShardMap.self, bytes), !map.shards.isEmpty, map.virtualNodes >= 1 else { return nil }
        map.revision = revision
        return map
    }
}

extension ClusterSettings {
    public var collectionsPrefix: String { clusterPrefix + "collections/" }
    public func collectionKey(_ name: String) -> String { collectionsPrefix + name }

    /// The settings of one shard's replica group: its election's keys under
    /// `/hsdb/<cluster>/shards/<uid>/<k>/`, the node reached at `advertise` + `/shards/<uid>/<k>`.
    public func group(uid: String, shard: Int) -> ClusterSettings {
        var s = self
        s.scope = "shards/\(uid)/\(shard)/"
        s.advertise = advertise + Self.groupPath(uid: uid, shard: shard)
        return s
    }

    public static func groupPath(uid: String, shard: Int) -> String { "/shards/\(uid)/\(shard)" }
}
