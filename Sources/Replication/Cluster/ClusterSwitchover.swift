extension ClusterElection {
    /// A planned handover: this leader stops admitting writes, waits for those in flight, then
    /// until `target` (by default the most advanced other member) holds everything it has
    /// durably (what those writes wrote included), then, in one
    /// transaction guarded by its own lease, names the target in the switchover key and
    /// deletes the leader key. Every candidate defers to the named one, which is elected in
    /// the next round (DESIGN.md, "Automatic failover"). Returns the new leader.
    public func switchover(
        to target: String?, catchUp timeout: Duration, isCaughtUp: (String) async -> Bool
    ) async throws -> ClusterLeader {
        guard isLeading, let lease = state.withLock({ $0.lease }) else {
            throw ClusterError.refused("this server does not lead the cluster\(leader.map { "; \($0.name) at \($0.advertise) does" } ?? "")")
        }
        let others = members.filter { $0.name != settings.nodeName }
        let chosen = target ?? others.reduce(nil as ClusterMember?) { best, m in best.map { m.outranks($0) ? m : $0 } ?? m }?.name
        guard let chosen, others.contains(where: { $0.name == chosen }) else {
            let names = others.map(\.name).sorted().joined(separator: ", ")
            throw ClusterError.refused(
                target.map { "'\($0)' is not a live member of cluster '\(settings.cluster)' (members: \(names.isEmpty ? "none" : names))" }
                    ?? "no other live member to hand over to")
        }
        state.withLock { $0.switching = true }
        let deadline = clock.now + timeout
        while true {
            if writesInFlight == 0, await isCaughtUp(chosen) { break }
            guard clock.now < deadline else {
                state.withLock { $0.switching = false }
                throw ClusterError.refused("\(chosen) did not catch up within \(timeout): this server leads on")
            }
            try await clock.sleep(for: .milliseconds(20))
        }
        let (done, _) = try await etcd.txn(
            if: [.leased(settings.leaderKey, to: lease)],
            then: [.put(settings.switchoverKey, ClusterJSON.encode(chosen), lease: lease), .delete(settings.leaderKey)])
        guard done else {
            state.withLock { $0.switching = false }
            throw ClusterError.refused("the leader key is no longer this server's")
        }
        logger.notice("cluster: switchover: \(settings.nodeName) hands over to \(chosen)")
        let handOver = clock.now + settings.leaseTTL * 2
        while clock.now < handOver {
            if let now = try? await etcd.get(settings.leaderKey).0,
                let record = ClusterJSON.decode(ClusterLeader.self, now.value?.bytes)
            {
                return record
            }
            try await clock.sleep(for: .milliseconds(20))
        }
        throw ClusterError.refused("no leader was elected within \(settings.leaseTTL * 2) of the handover")
    }
}
