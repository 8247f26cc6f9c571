import Backup
import Foundation
import HSDB
import HSDBCore
import Hummingbird
import Logging
import Replication
import Synchronization

/// This node's copy of one shard (DESIGN.md, "Shards"): a database of its own under
/// `<data>/shards/<uid>/<k>/` holding the one collection, with its own replication node and
/// its own election in etcd among the shard's copies, so every shard is what a collection
/// on a single node is (WAL, manifest, segments, state tree), led, followed, bootstrapped
/// and verified as one. Reached by other nodes at `<advertise>/shards/<uid>/<k>`, where the
/// full REST API and the replication routes answer for this copy alone.
final class ShardGroup: Sendable {
    let uid: String
    let shard: Int
    let collection: String
    let db: Database
    let node: ReplicationNode
    let election: ClusterElection
    let responder: RouterResponder<HSDBRequestContext>
    /// With `--backup-dir`: this copy's own archiver (DESIGN.md, "Backups of shards").
    let archiver: ContinuousArchiver?
    private let tasks: [Task<Void, Never>]
    private let archiving: Task<Void, Never>?
    private let stopArchiving = StopFlag()
    /// Set once a transfer's destination copy has been seen caught up: from then on it may
    /// lead (a move hands the lead to it).
    let madeWhole = Atomic<Bool>(false)

    static func directory(data: String, uid: String, shard: Int) -> String { "\(data)/shards/\(uid)/\(shard)" }

    /// Opens (creating it the first time) this node's copy of shard `shard` of `map` and starts
    /// its election and replication.
    static func open(
        _ map: ShardMap, shard: Int, parent: Database, settings: ServerSettings, metrics: ServerMetrics, logger: Logger,
        refusesLead: @escaping @Sendable () -> String?
    ) async throws -> ShardGroup {
        guard let cluster = settings.cluster else { throw ClusterError.refused("shards need cluster mode (--etcd)") }
        var options = parent.options
        options.createIfMissing = true
        let path = directory(data: parent.path, uid: map.uid, shard: shard)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let db = try await Database.open(at: path, options: options, logger: logger)
        do {
            if try !db.listCollections().contains(where: { $0.name == map.name }) {
                let body = try JSONFields(try JSONParser.parse(Array(map.config.utf8)), path: "")
                try await db.createCollection(map.name, config: try CollectionSpec.config(from: body))
            }
            var groupSettings = settings
            groupSettings.cluster = cluster.group(uid: map.uid, shard: shard)
            groupSettings.replicaOf = nil
            groupSettings.backupDirectory = try await backupDirectory(of: map, shard: shard, db: db, settings: settings)
            groupSettings.snapshotsDirectory = nil
            return try ShardGroup(
                map, shard: shard, db: db, settings: groupSettings, metrics: metrics, logger: logger, refusesLead: refusesLead)
        } catch {
            try? await db.close()
            throw error
        }
    }

    private init(
        _ map: ShardMap, shard: Int, db: Database, settings: ServerSettings, metrics: ServerMetrics, logger: Logger,
        refusesLead: @escaping @Sendable () -> String?
    ) throws {
        var logger = logger
        logger[metadataKey: "shard"] = "\(map.name)/\(shard)"
        uid = map.uid
        self.shard = shard
        collection = map.name
        self.db = db
        let node = try ReplicationNode(db: db, settings: settings, logger: logger)
        let roles = ClusterRoles(node: node, refusesLead: refusesLead)
        let election = try ClusterElection(settings: settings.cluster!, roles: roles, logger: logger)
        node.election.withLock { $0 = election }
        self.node = node
        self.election = election
        archiver = settings.backupDirectory.map { ContinuousArchiver(database: db, settings: .init(serverSettings: settings, directory: $0), logger: logger) }
        let api = API(
            db: db, settings: settings, metrics: metrics, snapshots: SnapshotStore(root: db.path + "/snapshots"), replication: node,
            archiver: archiver, logger: logger)
        let router = Router(context: HSDBRequestContext.self)
        router.add(middleware: ErrorEnvelopeMiddleware())
        router.add(middleware: ReadOnlyFollowerMiddleware(node: node))
        api.register(on: router)
        responder = router.buildResponder()
        tasks = [Task { await election.run() }, Task { try? await ReplicationService(node: node).run() }]
        let stop = stopArchiving
        archiving = archiver.map { a in Task { await a.run { stop.isRaised } } }
    }

    /// With `--backup-dir`: this copy's backup directory, `<backup-dir>/shards/<name>/<uid>/<k>/<node>`,
    /// after the `SHARDS` file beside it is written. Without: the archive's WAL pins are released.
    private static func backupDirectory(of map: ShardMap, shard: Int, db: Database, settings: ServerSettings) async throws -> String? {
        guard let root = settings.backupDirectory, let node = settings.cluster?.nodeName else {
            _ = try await ContinuousArchiver.releasePins(of: db)
            return nil
        }
        let layout = ShardBackupLayout(collection: map.name, uid: map.uid, shardCount: map.shards.count)
        try layout.publish(root: root, fileSystem: POSIXFileSystem())
        return layout.chainDirectory(root: root, shard: shard, node: node)
    }

    /// Takes a last backup (with `--backup-dir`), stops the election (revoking its lease, so a
    /// copy it led is replaced at once) and the replication, then closes the database.
    func stop() async {
        // The last backup first, of every write this copy acknowledged.
        stopArchiving.raise()
        await archiving?.value
        for task in tasks { task.cancel() }
        node.leader?.stop()
        await node.stopFollowing()
        for task in tasks { await task.value }
        try? await db.close()
    }

    var isLeading: Bool { election.isLeading }

    /// The copy follows its shard's leader and has applied everything it was last sent.
    var isCaughtUp: Bool {
        guard let status = node.follower?.status().first(where: { $0.collection == collection }) else { return false }
        return status.state == .streaming && status.appliedLSN >= status.leaderLSN
    }
}
