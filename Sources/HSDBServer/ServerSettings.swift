import Foundation
import HSDB
import Replication

/// How the HTTP server runs: where it listens, who may call it, and how much one request may carry.
public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 6333
    /// Qdrant's gRPC API on this port (0: any free port); nil: no gRPC listener.
    public var grpcPort: Int? = 6334
    /// When set, every route but `/`, the health checks and `/metrics` needs the `api-key`
    /// header (or `Authorization: Bearer <key>`) to equal it.
    public var apiKey: String?
    /// Request bodies over this size are refused with 413 before they are read in full.
    public var maxBodyBytes = 32 << 20
    /// Points (or ids) in one request.
    public var maxBatchPoints = 10_000
    /// `limit` + `offset` of one search or scroll.
    public var maxResultPoints = 10_000
    /// The version `GET /` reports. The Python client warns unless its own major version is
    /// equal and its minor version within one of this, so it names the Qdrant API release
    /// hsdb follows.
    public var compatibleVersion = "1.20.0"
    /// Where collection snapshots are written; by default `<data>/snapshots`.
    public var snapshotsDirectory: String?
    /// When set (the leader's base URL), this server follows that leader: it copies its
    /// collections and log, answers reads, and refuses writes.
    public var replicaOf: String?
    /// Cluster mode (`--etcd`): the node elects its leader in etcd and follows or leads as
    /// elected (DESIGN.md, "Automatic failover").
    public var cluster: ClusterSettings?
    /// The API key the leader asks for, if any.
    public var leaderAPIKey: String?
    /// Cluster mode: how long a node may be gone before the shard copies it held are made
    /// again on other nodes.
    public var shardGrace: Duration = .seconds(300)
    /// On a leader: a follower's slot holding more WAL than this is dropped (it bootstraps).
    public var replicationSlotMaxBytes: Int64 = 1 << 30
    /// On a leader: the copies (leader included) a write must be durable on before it is
    /// acknowledged, for collections whose config sets no `write_consistency_factor`.
    public var writeConsistencyFactor = 1
    /// How long a write waits for those copies before it fails with 503.
    public var replicaAckTimeout: Duration = .seconds(10)
    /// On a follower: how often each caught-up collection's state tree is compared with the
    /// leader's, and what differs repaired (nil: only when asked, POST /replication/repair).
    public var antiEntropyInterval: Duration? = .seconds(300)
    /// When set, the server archives incremental CAR backups here (continuously, every
    /// `archiveInterval` while anything changed, and on `POST /backups`).
    public var backupDirectory: String?
    public var archiveInterval: Duration = .seconds(10)
    /// While archiving fails, a collection's WAL kept for the archive past this drops its pin
    /// (the chain breaks; the next backup is full).
    public var backupMaxRetainedBytes: Int64 = 4 << 30
    /// A new base (full) backup when the last is this old, or when the incrementals since
    /// hold this many bytes (nil: not by that rule); and how many full backups to keep (0: all).
    public var baseBackupEvery: Duration? = .seconds(86_400)
    public var baseBackupAfterBytes: Int64? = 1 << 30
    public var backupKeepFull = 0

    public init() {}
}

/// hsdb's own release.
public enum HSDBVersion {
    public static let string = "0.1.0"
    /// The source revision `GET /` reports as `commit`: SwiftPM cannot stamp it into the
    /// binary, so scripts/serve.sh passes it in `HSDB_COMMIT` (else "unknown").
    public static var commit: String {
        ProcessInfo.processInfo.environment["HSDB_COMMIT"].flatMap { $0.isEmpty ? nil : $0 } ?? "unknown"
    }
}
