import Replication
import Synchronization

extension API {
    /// The replication families of `/metrics`, written fresh at each scrape (a follower or
    /// collection that went leaves no stale line).
    func replicationMetrics() -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ lines: [(labels: String, value: String)]) {
            guard !lines.isEmpty else { return }
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for l in lines { out += l.labels.isEmpty ? "\(name) \(l.value)\n" : "\(name){\(l.labels)} \(l.value)\n" }
        }
        func label(_ pairs: (String, String)...) -> String {
            pairs.map { "\($0.0)=\"\(ServerMetrics.labelEscaped($0.1))\"" }.joined(separator: ",")
        }
        if let follower = replication.follower {
            let all = follower.status()
            family("hsdb_replication_applied_lsn", "gauge", "Last LSN applied from the leader, per collection.",
                   all.map { (label(("collection", $0.collection)), "\($0.appliedLSN)") })
            family("hsdb_replication_lag_records", "gauge", "Records the leader has that this follower has not applied.",
                   all.map { (label(("collection", $0.collection)), "\($0.lagRecords)") })
            family("hsdb_replication_lag_seconds", "gauge", "Seconds since this follower was last caught up (0: caught up).",
                   all.map { (label(("collection", $0.collection)), "\($0.lagSeconds)") })
            family("hsdb_replication_streaming", "gauge", "1 while connected to the leader and streaming or catching up.",
                   all.map { (label(("collection", $0.collection)), $0.state == .streaming || $0.state == .catchingUp ? "1" : "0") })
            family("hsdb_replication_bootstraps_total", "counter", "Bootstraps from a leader's snapshot.",
                   all.map { (label(("collection", $0.collection)), "\($0.bootstraps)") })
            family("hsdb_replication_rejected_frames_total", "counter", "Shipped frames refused (checksum, LSN order, running hash).",
                   all.map { (label(("collection", $0.collection)), "\($0.rejectedFrames)") })
        } else if let leader = replication.leader {
            let all = leader.status()
            family("hsdb_replication_follower_lag_records", "gauge", "Records a follower has not acknowledged as durable.",
                   all.map { (label(("collection", $0.collection), ("follower", $0.node)), "\($0.lagRecords)") })
            family("hsdb_replication_follower_retained_wal_bytes", "gauge", "Bytes of WAL files a follower's slot keeps (its cap: --replica-max-retained-mb).",
                   all.map { (label(("collection", $0.collection), ("follower", $0.node)), "\($0.retainedWALBytes)") })
            family("hsdb_replication_follower_connected", "gauge", "1 while a follower has a stream open.",
                   all.map { (label(("collection", $0.collection), ("follower", $0.node)), $0.connected ? "1" : "0") })
            family("hsdb_replication_dropped_slots_total", "counter", "Follower slots dropped for holding too much WAL.",
                   [("", "\(leader.droppedSlots.load(ordering: .relaxed))")])
        }
        return out
    }
}
