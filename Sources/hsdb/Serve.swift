import ArgumentParser
import Foundation
import HSDB
import HSDBServer
import Logging
import Replication

/// `hsdb serve`: opens (and recovers) the database and serves the Qdrant-compatible REST API
/// until SIGINT or SIGTERM; then stops accepting, finishes requests in flight, syncs and exits 0.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the database over the Qdrant-compatible REST API.")

    @Option(name: .long, help: "Database directory (created if missing).")
    var data = "./hsdb-data"

    @Option(name: .long, help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on (0: any free port; the chosen one is printed).")
    var port = 6333

    @Option(name: .long, help: "API key required on every route but health checks (default: $HSDB_API_KEY; none: open).")
    var apiKey: String?

    @Option(name: .long, help: "Durability: fsync (default), interval[:MS], none.")
    var durability = "fsync"

    @Option(name: .long, help: "Largest request body, in bytes.")
    var maxBodyBytes = ServerSettings().maxBodyBytes

    @Option(name: .long, help: "Most points (or ids) in one request.")
    var maxBatchPoints = ServerSettings().maxBatchPoints

    @Option(name: .long, help: "Memtable size in MiB: writes are indexed into a segment each time this much has arrived; writers wait at four times it.")
    var memtableMb = DatabaseOptions().memtableFlushBytes >> 20

    @Option(name: .long, help: "Flush a memtable of at least 10,000 points (the code-scan crossover) once it has taken no write for this many seconds, so settled data is searched by graph (0: only full memtables are flushed).")
    var idleFlushSeconds = 5.0

    @Flag(inversion: .prefixedNo, help: "Search a collection's segments in parallel when a search runs alone.")
    var parallelSearch = true

    @Option(name: .long, help: "Port of Qdrant's gRPC API (0: any free port).")
    var grpcPort = 6334

    @Flag(name: .long, help: "Do not listen on the gRPC port at all.")
    var noGrpc = false

    @Option(name: .long, help: "Follow the hsdb leader at this URL (e.g. http://10.0.0.1:6333): copy its collections and log, serve reads, refuse writes.")
    var replicaOf: String?

    @Option(name: .long, help: "API key of the leader given with --replica-of (default: $HSDB_LEADER_API_KEY).")
    var leaderApiKey: String?

    @Option(name: .long, help: "On a leader: drop a follower's slot when it holds more than this many MiB of WAL (the follower then bootstraps from a snapshot).")
    var replicaMaxRetainedMb = 1024

    @Option(name: .long, help: "On a leader: copies (leader included) a write must be durable on before it is acknowledged, for collections that set no write_consistency_factor.")
    var writeConsistencyFactor = 1

    @Option(name: .long, help: "On a leader: seconds a write waits for its followers (write_consistency_factor > 1) before it fails with 503.")
    var replicaAckTimeout = 10.0

    @Option(name: .long, help: "On a follower: seconds between comparisons of each caught-up collection's state tree with the leader's, which repair what differs (0: only on POST /replication/repair).")
    var antiEntropyInterval = 300.0

    @Option(name: .long, help: "Cluster mode: etcd's client URLs, comma-separated (http://host:2379,...). The node registers under a lease, follows the leader elected in etcd or campaigns when there is none.")
    var etcd: String?

    @Option(name: .long, help: "Cluster mode: this node's name, unique in the cluster (default: the host name).")
    var nodeId: String?

    @Option(name: .long, help: "Cluster mode: the URL other nodes and clients reach this server at (default: http://HOST:PORT).")
    var advertise: String?

    @Option(name: .long, help: "Cluster mode: the cluster's name; its keys live under /hsdb/NAME/ in etcd.")
    var cluster = "hsdb"

    @Option(name: .long, help: "Cluster mode: seconds of the leader's lease; a dead leader is replaced after about this long. Keepalive (TTL/5), etcd request timeout (3 x TTL/10) and the deadline margin (TTL/10) follow from it.")
    var leaseTtl = 10.0

    @Option(name: .long, help: "Cluster mode: seconds a node may be gone (no lease in etcd) before the cluster's leader makes its copies of shards again on other nodes.")
    var shardGrace = 300.0

    @Option(name: .long, help: "Archive incremental CAR backups into this directory, continuously (every --archive-interval while anything changed), on POST /backups, and at shutdown.")
    var backupDir: String?

    @Option(name: .long, help: "With --backup-dir: seconds between backups (the most a crash can lose from the archive).")
    var archiveInterval = 10.0

    @Option(name: .long, help: "With --backup-dir: while archiving fails, WAL kept for the archive past this many MiB (per collection) drops the archive's pin; the chain breaks and the next backup is full.")
    var backupMaxRetainedMb = 4096

    @Option(name: .long, help: "With --backup-dir: take a new base (full) backup when the last full one is this many seconds old (0: not by age).")
    var baseBackupEvery = 86_400.0

    @Option(name: .long, help: "With --backup-dir: take a new base (full) backup once the incremental backups since the last full one hold this many MiB (0: not by size).")
    var baseBackupAfterMb = 1024

    @Option(name: .long, help: "With --backup-dir: after each full backup, remove the backups before the newest N full ones (0: keep every backup).")
    var backupKeepFull = 0

    @Option(name: .long, help: "Version reported at GET / (clients compare it with their own).")
    var compatibleVersion = ServerSettings().compatibleVersion

    func run() async throws {
        LoggingSystem.bootstrap { LazyMetadataLogHandler(label: $0) }
        let logger = Logger(label: "hsdb")
        guard let mode = DurabilityMode(parsing: durability) else {
            throw ValidationError("unknown durability mode '\(durability)': use fsync, interval, interval:MS or none")
        }
        guard maxBodyBytes >= 1024, maxBatchPoints >= 1 else { throw ValidationError("--max-body-bytes must be at least 1024 and --max-batch-points at least 1") }
        var settings = ServerSettings()
        settings.host = host
        settings.port = port
        settings.grpcPort = noGrpc ? nil : grpcPort
        settings.apiKey = apiKey ?? ProcessInfo.processInfo.environment["HSDB_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        settings.maxBodyBytes = maxBodyBytes
        settings.maxBatchPoints = maxBatchPoints
        settings.compatibleVersion = compatibleVersion
        guard replicaMaxRetainedMb >= 1 else { throw ValidationError("--replica-max-retained-mb must be at least 1") }
        settings.replicationSlotMaxBytes = Int64(replicaMaxRetainedMb) << 20
        guard writeConsistencyFactor >= 1 else { throw ValidationError("--write-consistency-factor must be at least 1") }
        guard replicaAckTimeout > 0, replicaAckTimeout.isFinite else { throw ValidationError("--replica-ack-timeout must be a positive number of seconds") }
        settings.writeConsistencyFactor = writeConsistencyFactor
        settings.replicaAckTimeout = .milliseconds(Int64(replicaAckTimeout * 1000))
        guard antiEntropyInterval >= 0, antiEntropyInterval.isFinite else { throw ValidationError("--anti-entropy-interval must be 0 or a positive number of seconds") }
        settings.antiEntropyInterval = antiEntropyInterval > 0 ? .milliseconds(Int64(antiEntropyInterval * 1000)) : nil
        if let backupDir {
            guard archiveInterval > 0, archiveInterval.isFinite else { throw ValidationError("--archive-interval must be a positive number of seconds") }
            guard backupMaxRetainedMb >= 1 else { throw ValidationError("--backup-max-retained-mb must be at least 1") }
            settings.backupDirectory = URL(fileURLWithPath: backupDir).standardizedFileURL.path
            settings.archiveInterval = .milliseconds(Int64(archiveInterval * 1000))
            settings.backupMaxRetainedBytes = Int64(backupMaxRetainedMb) << 20
            guard baseBackupEvery >= 0, baseBackupEvery.isFinite, baseBackupAfterMb >= 0, backupKeepFull >= 0 else {
                throw ValidationError("--base-backup-every, --base-backup-after-mb and --backup-keep-full must not be negative")
            }
            settings.baseBackupEvery = baseBackupEvery > 0 ? .milliseconds(Int64(baseBackupEvery * 1000)) : nil
            settings.baseBackupAfterBytes = baseBackupAfterMb > 0 ? Int64(baseBackupAfterMb) << 20 : nil
            settings.backupKeepFull = backupKeepFull
        }
        if let replicaOf {
            guard let url = URL(string: replicaOf), url.scheme == "http", url.host != nil else {
                throw ValidationError("--replica-of must be the leader's base http:// URL, such as http://127.0.0.1:6333 (replication speaks plain HTTP)")
            }
            settings.replicaOf = replicaOf
            settings.leaderAPIKey = leaderApiKey ?? ProcessInfo.processInfo.environment["HSDB_LEADER_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        }
        if let etcd {
            guard replicaOf == nil else { throw ValidationError("--etcd and --replica-of exclude each other: in a cluster the election chooses whom to follow") }
            settings.cluster = try clusterSettings(etcd: etcd)
            guard shardGrace >= 0, shardGrace.isFinite else { throw ValidationError("--shard-grace must not be negative") }
            settings.shardGrace = .milliseconds(Int64(shardGrace * 1000))
            settings.leaderAPIKey = leaderApiKey ?? settings.apiKey
        }
        var options = DatabaseOptions(durability: mode)
        options.createIfMissing = true
        options.limits.maxBatchPoints = max(options.limits.maxBatchPoints, maxBatchPoints)
        guard (1...1 << 20).contains(memtableMb) else { throw ValidationError("--memtable-mb must be between 1 and 1048576") }
        options.memtableFlushBytes = memtableMb << 20
        options.memtableStallBytes = 4 * options.memtableFlushBytes
        options.parallelSegmentSearch = parallelSearch
        guard idleFlushSeconds >= 0 else { throw ValidationError("--idle-flush-seconds must not be negative") }
        options.idleFlushAfter = idleFlushSeconds > 0 ? .milliseconds(Int64(idleFlushSeconds * 1000)) : nil
        // A follower takes every LSN from its leader, close markers included.
        // (In a cluster, a node that follows at first writes none before it is elected.)
        options.writesWALCloseMarkers = replicaOf == nil && etcd == nil
        // A copy that can be fetched again sets a damaged collection aside instead of failing.
        options.quarantinesDamagedCollections = replicaOf != nil || etcd != nil
        let db = try await Database.open(at: data, options: options, logger: logger)
        QuarantineRepair.seedIncoming(db, logger: logger)
        let collections = try db.listCollections()
        let points = try collections.reduce(0) { $0 + (try db.collection($1.name).count()) }
        logger.info("hsdb \(HSDBVersion.string): data in \(data), \(collections.count) collection(s), \(points) point(s) recovered, durability \(mode)")
        do {
            let (host, keyed) = (host, settings.apiKey != nil)
            let onGRPC: @Sendable (Int) -> Void = { port in
                logger.info("gRPC on \(host):\(port)\(keyed ? " (api key required)" : "")")
                FileHandle.standardOutput.write(Data("hsdb gRPC on \(host):\(port)\n".utf8))
            }
            try await HTTPServer.run(db: db, settings: settings, logger: logger, onListening: { bound in
                logger.info("listening on http://\(host):\(bound)\(keyed ? " (api key required)" : "")")
                // Unbuffered, so a parent process reading stdout learns the port at once.
                FileHandle.standardOutput.write(Data("hsdb listening on http://\(host):\(bound)\n".utf8))
            }, onGRPCListening: onGRPC)
        } catch {
            try? await db.close()
            throw error
        }
        logger.info("shutting down: syncing and closing the database")
        try await db.close()
        logger.info("closed cleanly")
    }
}

extension Serve {
    func clusterSettings(etcd: String) throws -> ClusterSettings {
        let endpoints = etcd.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for endpoint in endpoints {
            guard let url = URL(string: endpoint), url.scheme == "http", url.host != nil else {
                throw ValidationError("--etcd takes http:// client URLs of etcd, such as http://127.0.0.1:2379 (got '\(endpoint)')")
            }
        }
        let node = nodeId ?? ProcessInfo.processInfo.hostName
        let url: String
        if let advertise {
            guard let parsed = URL(string: advertise), parsed.scheme == "http", parsed.host != nil else {
                throw ValidationError("--advertise must be this server's http:// URL as others reach it (got '\(advertise)')")
            }
            url = advertise
        } else {
            guard port != 0, host != "0.0.0.0", host != "::" else {
                throw ValidationError("--advertise is needed with --port 0 or a wildcard --host: other nodes must know where to reach this one")
            }
            url = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        }
        var settings = ClusterSettings(endpoints: endpoints, nodeName: node, advertise: url)
        settings.cluster = cluster
        guard leaseTtl >= 2, leaseTtl <= 3600, leaseTtl == leaseTtl.rounded() else {
            throw ValidationError("--lease-ttl must be a whole number of seconds from 2 to 3600 (etcd grants whole seconds)")
        }
        settings.derive(fromTTL: .seconds(leaseTtl))
        if let problem = settings.problem { throw ValidationError(problem) }
        return settings
    }
}


