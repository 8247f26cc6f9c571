import CoreMetrics

/// Process-wide WAL metrics through swift-metrics: no-ops unless the process bootstraps a
/// metrics backend (`hsdb serve` exports them to Prometheus).
enum WALMetrics {
    /// Time of each fdatasync of a WAL file.
    static let fsyncDuration = CoreMetrics.Timer(label: "hsdb_wal_fsync_duration")
    /// Records made durable by one fdatasync: the group-commit batch size.
    static let groupCommitRecords = Recorder(label: "hsdb_wal_group_commit_records", aggregate: true)
}
