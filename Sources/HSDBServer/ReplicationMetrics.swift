import Replication
import Synchronization

extension API {
    /// The replication families of `/metrics`, written fresh at each scrape (a follower or
    /// collection that went leaves no stale line).
    func replicationMetrics() async -> String {
        var out = PrometheusText()
        let label = PrometheusText.labels
        if let follower = replication.follower {
            let all = follower.status()
            out.family("hsdb_replication_applied_lsn", "gauge", "Last LSN applied from the leader, per collection.",
                   all.map { (label(("collection", $0.collection)), "\($0.appliedLSN)") })
            out.family("hsdb_replication_lag_records", "gauge", "Records the leader has that this follower has not applied.",
                   all.map { (label(("collection", $0.collection)), "\($0.lagRecords)") })
            out.family("hsdb_replication_lag_seconds", "gauge", "Seconds since this follower was last caught up (0: caught up).",
                   all.map { (label(("collection", $0.collection)), "\($0.lagSeconds)") })
            out.family("hsdb_replication_streaming", "gauge", "1 while connected to the leader and streaming or catching up.",
                   all.map { (label(("collection", $0.collection)), $0.state == .streaming || $0.state == .catchingUp ? "1" : "0") })
            out.family("hsdb_replication_bootstraps_total", "counter", "Bootstraps from a leader's snapshot.",
                   all.map { (label(("collection", $0.collection)), "\($0.bootstraps)") })
            out.family("hsdb_replication_rejected_frames_total", "counter", "Shipped frames refused (checksum, LSN order, running hash).",
                   all.map { (label(("collection", $0.collection)), "\($0.rejectedFrames)") })
        } else if let leader = replication.leader {
            let all = await leader.status()
            out.family("hsdb_replication_follower_lag_records", "gauge", "Records a follower has not acknowledged as durable.",
                   all.map { (label(("collection", $0.collection), ("follower", $0.node)), "\($0.lagRecords)") })
            out.family("hsdb_replication_follower_lag_bytes", "gauge", "Bytes of log records (header and body) a follower has not acknowledged as durable.",
                   all.compactMap { f in f.lagBytes.map { (label(("collection", f.collection), ("follower", f.node)), "\($0)") } })
            out.family("hsdb_replication_follower_retained_wal_bytes", "gauge", "Bytes of WAL files a follower's slot keeps (its cap: --replica-max-retained-mb).",
                   all.map { (label(("collection", $0.collection), ("follower", $0.node)), "\($0.retainedWALBytes)") })
            out.family("hsdb_replication_follower_connected", "gauge", "1 while a follower has a stream open.",
                   all.map { (label(("collection", $0.collection), ("follower", $0.node)), $0.connected ? "1" : "0") })
            out.family("hsdb_replication_dropped_slots_total", "counter", "Follower slots dropped for holding too much WAL.",
                   [("", "\(leader.droppedSlots.load(ordering: .relaxed))")])
        }
        return out.text
    }
}
