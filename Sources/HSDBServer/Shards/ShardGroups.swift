import Foundation
import HSDB
import Logging
import Replication
import Synchronization

/// The shard maps this node knows and the copies of shards it runs. Every node reads the maps
/// from etcd each `interval` (and at once when a request names a collection it does not know,
/// or carries a newer map revision); the loop then opens the copies placed on this node and
/// stops and removes those no longer placed here.
final class ShardGroups: Sendable {
    static let interval: Duration = .seconds(1)

    let store: ShardMapStore
    let parent: Database
    let settings: ServerSettings
    let metrics: ServerMetrics
    let logger: Logger
    /// How long a node may be gone before the copies it held are made again elsewhere.
    let grace: Duration
    /// True while this node leads the cluster: it alone re-replicates a departed node's copies.
    let isController: @Sendable () -> Bool
    let peers: PeerClient
    private let known = Mutex<(maps: [String: ShardMap], read: Bool)>(([:], false))
    private let running = Mutex<[String: ShardGroup]>([:])
    /// Transfers this node drives now (their keys).
    let driving = Mutex<Set<String>>([])
    /// Since when each replica's node has been seen without a member key (controller only).
    let missingSince = Mutex<[String: ContinuousClock.Instant]>([:])

    init(
        parent: Database, settings: ServerSettings, cluster: ClusterSettings, metrics: ServerMetrics, logger: Logger,
        isController: @escaping @Sendable () -> Bool
    ) throws {
        store = try ShardMapStore(settings: cluster)
        grace = settings.shardGrace
        self.isController = isController
        peers = PeerClient(apiKey: settings.leaderAPIKey)
        self.parent = parent
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
    }

    var nodeName: String { store.settings.nodeName }

    /// The map of a sharded collection, as last read.
    func map(_ name: String) -> ShardMap? { known.withLock { $0.maps[name] } }
    var maps: [String: ShardMap] { known.withLock { $0.maps } }

    /// Reads every map from etcd now.
    @discardableResult
    func refresh() async throws -> [String: ShardMap] {
        let maps = try await store.all()
        known.withLock { $0 = (maps, true) }
        return maps
    }

    /// The running copy of shard `shard` of the collection incarnation `uid`.
    func group(uid: String, shard: Int) -> ShardGroup? { running.withLock { $0[Self.key(uid, shard)] } }
    func groups(of map: ShardMap) -> [ShardGroup] { running.withLock { r in map.shards.compactMap { r[Self.key(map.uid, $0.id)] } } }

    static func key(_ uid: String, _ shard: Int) -> String { "\(uid)/\(shard)" }

    /// Why this node's copy of `shard` may not lead: it is a transfer's destination, not yet
    /// complete (an empty or partial copy must never be elected over the copies it is made from).
    func refusal(_ name: String, _ shard: Int) -> String? {
        guard let map = map(name), let t = map.transfer(into: shard), t.to == nodeName else { return nil }
        if group(uid: map.uid, shard: shard)?.madeWhole.load(ordering: .relaxed) == true { return nil }
        return "its copy of shard \(shard) of '\(name)' is still being made (from \(t.from))"
    }

    // MARK: The loop

    func run() async {
        while !Task.isCancelled {
            do {
                let maps = try await refresh()
                try await reconcile(maps)
                driveTransfers(maps)
                if isController() { await replaceDeparted(maps) }
            } catch is CancellationError {
                break
            } catch {
                logger.warning("shards: cannot read the shard maps from etcd: \(error) (retrying)")
            }
            try? await Task.sleep(for: Self.interval)
        }
        await stopAll()
    }

    func stopAll() async {
        driving.withLock { $0.removeAll() }
        let all = running.withLock { r in defer { r = [:] }; return Array(r.values) }
        for group in all { await group.stop() }
    }

    /// Opens the copies `maps` place on this node and removes the ones they no longer do.
    private func reconcile(_ maps: [String: ShardMap]) async throws {
        var wanted: [String: (ShardMap, Int)] = [:]
        for map in maps.values {
            for shard in map.shards(on: nodeName) { wanted[Self.key(map.uid, shard)] = (map, shard) }
        }
        for (key, group) in running.withLock({ $0 }) where wanted[key] == nil {
            running.withLock { _ = $0.removeValue(forKey: key) }
            await group.stop()
            try? FileManager.default.removeItem(atPath: group.db.path)
            logger.info("shards: this node no longer holds shard \(group.shard) of '\(group.collection)': its copy is removed")
        }
        for (key, (map, shard)) in wanted where running.withLock({ $0[key] == nil }) {
            do {
                let name = map.name
                let group = try await ShardGroup.open(
                    map, shard: shard, parent: parent, settings: settings, metrics: metrics, logger: logger
                ) { [weak self] in self?.refusal(name, shard) }
                running.withLock { $0[key] = group }
                logger.info("shards: holding a copy of shard \(shard) of '\(map.name)' (\(map.shards.count) shards)")
            } catch {
                logger.error("shards: cannot open this node's copy of shard \(shard) of '\(map.name)': \(error)")
            }
        }
        removeStrays(keeping: Set(wanted.keys))
    }

    /// Removes the copies of shards dropped or moved away while this node was not running.
    private func removeStrays(keeping wanted: Set<String>) {
        let root = parent.path + "/shards"
        let fm = FileManager.default
        for uid in (try? fm.contentsOfDirectory(atPath: root)) ?? [] {
            for shard in (try? fm.contentsOfDirectory(atPath: root + "/" + uid)) ?? [] where !wanted.contains(Self.key(uid, Int(shard) ?? -1)) {
                guard running.withLock({ $0[Self.key(uid, Int(shard) ?? -1)] == nil }) else { continue }
                try? fm.removeItem(atPath: "\(root)/\(uid)/\(shard)")
                logger.info("shards: removed a copy no map places here (\(uid)/\(shard))")
            }
            if (try? fm.contentsOfDirectory(atPath: root + "/" + uid))?.isEmpty == true { try? fm.removeItem(atPath: root + "/" + uid) }
        }
    }
}
