/// The shard maps in etcd: read, created and dropped by transactions, so two nodes creating
/// the same collection at once cannot both succeed, and a map changes only from the revision
/// its writer read.
public struct ShardMapStore: Sendable {
    let etcd: EtcdClient
    public let settings: ClusterSettings

    public init(settings: ClusterSettings) throws {
        self.settings = settings
        etcd = try EtcdClient(endpoints: settings.endpoints, requestTimeout: settings.requestTimeout)
    }

    /// Every sharded collection's map, by name, with the store's revision when read.
    public func all() async throws(EtcdError) -> [String: ShardMap] {
        var maps: [String: ShardMap] = [:]
        for entry in try await etcd.list(prefix: settings.collectionsPrefix) {
            if let map = ShardMap.decode(entry.value?.bytes, revision: entry.modified) { maps[map.name] = map }
        }
        return maps
    }

    public func map(_ name: String) async throws(EtcdError) -> ShardMap? {
        let (entry, _) = try await etcd.get(settings.collectionKey(name))
        return entry.flatMap { ShardMap.decode($0.value?.bytes, revision: $0.modified) }
    }

    /// Creates `map` unless its collection has one already; returns whether it did.
    public func create(_ map: ShardMap) async throws(EtcdError) -> Bool {
        let key = settings.collectionKey(map.name)
        return try await etcd.txn(if: [.absent(key)], then: [.put(key, map.encoded())]).succeeded
    }

    /// Replaces the map read at `map.revision` by `map`; false when it changed since.
    public func replace(_ map: ShardMap) async throws(EtcdError) -> Bool {
        let key = settings.collectionKey(map.name)
        return try await etcd.txn(if: [.modified(key, at: map.revision)], then: [.put(key, map.encoded())]).succeeded
    }

    /// Drops the map read at `map.revision`, with its groups' election keys; false when it
    /// changed since.
    public func drop(_ map: ShardMap) async throws(EtcdError) -> Bool {
        let key = settings.collectionKey(map.name)
        guard try await etcd.txn(if: [.modified(key, at: map.revision)], then: [.delete(key)]).succeeded else { return false }
        for shard in map.shards {
            let group = settings.group(uid: map.uid, shard: shard.id)
            try? await etcd.delete(group.epochKey)
        }
        return true
    }

    /// The leader of one shard's replica group as etcd names it (nil: none now).
    public func leader(of map: ShardMap, shard: Int) async throws(EtcdError) -> ClusterLeader? {
        let (entry, _) = try await etcd.get(settings.group(uid: map.uid, shard: shard).leaderKey)
        return ClusterJSON.decode(ClusterLeader.self, entry?.value?.bytes)
    }

    /// The node members of the cluster as published (name, advertised URL, role).
    public func members() async throws(EtcdError) -> [ClusterMember] {
        try await etcd.list(prefix: settings.membersPrefix).compactMap { ClusterJSON.decode(ClusterMember.self, $0.value?.bytes) }
    }
}
