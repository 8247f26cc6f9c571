import Backup
import HSDB
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle

/// The `hsdb serve` HTTP server: the REST API over an open database, until SIGINT or SIGTERM.
public enum HTTPServer {
    /// Serves `db` until SIGINT or SIGTERM: then stops accepting connections, lets requests in
    /// flight finish, and returns (the caller closes the database, which syncs it).
    /// `onListening` receives the bound port (useful with port 0).
    /// `onGRPCListening` receives the gRPC port once bound (with `settings.grpcPort`).
    public static func run(
        db: Database, settings: ServerSettings, logger: Logger, onListening: @escaping @Sendable (Int) -> Void = { _ in },
        onGRPCListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws {
        let metrics = ServerMetrics.bootstrap()
        let snapshots = SnapshotStore(root: settings.snapshotsDirectory ?? db.path + "/snapshots")
        let replication = try ReplicationNode(db: db, settings: settings, logger: logger)
        let archiver = settings.backupDirectory.map { directory in
            ContinuousArchiver(database: db, settings: .init(serverSettings: settings, directory: directory), logger: logger)
        }
        if archiver == nil {
            let released = try await ContinuousArchiver.releasePins(of: db)
            if !released.isEmpty {
                logger.notice("backups are off (no --backup-dir): the archive's WAL pins of \(released.joined(separator: ", ")) are released, so retention may delete what no backup holds")
            }
        }
        let api = API(db: db, settings: settings, metrics: metrics, snapshots: snapshots, replication: replication,
                      archiver: archiver, logger: logger)
        let router = Router(context: HSDBRequestContext.self)
        router.add(middleware: EarlyRefusalMiddleware(maxBodyBytes: settings.maxBodyBytes))
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: QdrantMetricsMiddleware<HSDBRequestContext>(statistics: metrics.routes))
        router.add(middleware: ErrorEnvelopeMiddleware())
        if let key = settings.apiKey { router.add(middleware: APIKeyMiddleware(key: Array(key.utf8))) }
        let shards = try settings.cluster.map { cluster in
            try ShardGroups(parent: db, settings: settings, cluster: cluster, metrics: metrics, logger: logger) {
                replication.cluster?.isLeading ?? false
            }
        }
        if let shards, let cluster = settings.cluster {
            router.add(middleware: ShardDispatchMiddleware(groups: shards))
            let shardRouter = ShardRouter(groups: shards, apiKey: settings.leaderAPIKey, leaseTTL: cluster.leaseTTL, logger: logger)
            router.add(middleware: ShardCoordinator(router: shardRouter, db: db, settings: settings))
        }
        router.add(middleware: ReadOnlyFollowerMiddleware(node: replication))
        api.register(on: router)
        let responder = router.buildResponder()
        let app = Application(
            responder: responder,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "hsdb"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? settings.port) },
            logger: logger)
        // Shut down in reverse: replication streams end first, then the HTTP server drains,
        // then the archiver takes its last backup (of every write acknowledged).
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app), .init(service: ReplicationService(node: replication))]
        if let archiver { services.insert(.init(service: BackupService(archiver: archiver)), at: 0) }
        // Last, so the first to stop: the lease is revoked before the server drains.
        if let cluster = settings.cluster { services.append(.init(service: try ClusterService(node: replication, settings: cluster))) }
        if let shards { services.append(.init(service: ShardService(groups: shards))) }
        if let port = settings.grpcPort {
            let bridge = GRPCBridge(responder: responder, logger: logger)
            let grpc = GRPCEndpoint(
                host: settings.host, port: port, bridge: bridge, maxMessageBytes: settings.maxBodyBytes,
                statistics: metrics.grpc, logger: logger,
                onListening: onGRPCListening)
            // After the REST server in the list, so stopped before it: calls in flight finish first.
            services.append(.init(service: grpc, successTerminationBehavior: .ignore))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
