import Foundation
import Replication

/// Moving copies (DESIGN.md, "Shards: moves"). The destination of a transfer drives it: its
/// copy, already among the shard's replicas, follows the shard's leader (bootstrap, then
/// the log); once it has caught up, a move hands the lead over first if the source leads
/// (a switchover: writes pause until the destination holds every acknowledged one), then
/// the map drops the source and the transfer in one transaction. The cluster's leader
/// replaces a departed node's copies after the grace time, as moves from it.
extension ShardGroups {
    static let transferPoll: Duration = .milliseconds(200)

    func driveTransfers(_ maps: [String: ShardMap]) {
        for map in maps.values {
            for t in map.pendingTransfers where t.to == nodeName {
                let key = "\(map.uid)/\(t.shard)/\(t.from)/\(t.to)"
                guard driving.withLock({ $0.insert(key).inserted }) else { continue }
                let name = map.name
                Task {
                    await self.drive(name, t)
                    self.driving.withLock { _ = $0.remove(key) }
                }
            }
        }
    }

    /// Completes transfer `t` of collection `name` once this node's copy has caught up.
    private func drive(_ name: String, _ t: ShardMap.Transfer) async {
        logger.info("shards: making a copy of shard \(t.shard) of '\(name)' here (from \(t.from))")
        let started = ContinuousClock.now
        while !Task.isCancelled, driving.withLock({ !$0.isEmpty }) {
            do {
                guard let map = try await store.map(name), map.pendingTransfers.contains(t) else { return }
                let group = group(uid: map.uid, shard: t.shard)
                if let group, group.isCaughtUp { group.madeWhole.store(true, ordering: .relaxed) }
                if let group, group.madeWhole.load(ordering: .relaxed), try await handOver(map, t) {
                    var next = map
                    next.transfers = map.pendingTransfers.filter { $0 != t }
                    if next.transfers?.isEmpty == true { next.transfers = nil }
                    if !t.sync { next.shards[t.shard].replicas.removeAll { $0 == t.from } }
                    if try await store.replace(next) {
                        logger.notice(
                            "shards: \(t.sync ? "replicated" : "moved") shard \(t.shard) of '\(name)' from \(t.from) to \(t.to) in \(ContinuousClock.now - started)")
                        _ = try? await refresh()
                        return
                    }
                    continue
                }
            } catch {
                logger.warning("shards: transfer of shard \(t.shard) of '\(name)' to this node: \(error) (retrying)")
            }
            try? await Task.sleep(for: Self.transferPoll)
        }
    }

    /// For a move whose source leads the shard: hands the lead to this node (true once the
    /// source no longer leads). Other transfers need nothing.
    private func handOver(_ map: ShardMap, _ t: ShardMap.Transfer) async throws -> Bool {
        guard !t.sync, let leader = try await store.leader(of: map, shard: t.shard) else { return t.sync }
        guard leader.name == t.from else { return true }
        let path = "/cluster/switchover?to=\(t.to)"
        let answer = try await peers.call(.POST, leader.advertise, path, body: nil)
        if answer.status != 200 { logger.info("shards: handing shard \(t.shard) of '\(map.name)' over to this node: \(ShardRouter.message(answer))") }
        return false  // checked again on the next round, from etcd
    }

    /// The controller's part: a replica whose node has had no member key for the grace time
    /// is moved to the live node holding the fewest copies (one not holding this shard).
    func replaceDeparted(_ maps: [String: ShardMap]) async {
        guard let members = try? await store.members() else { return }
        let live = Set(members.map(\.name))
        let now = ContinuousClock.now
        var load: [String: Int] = Dictionary(uniqueKeysWithValues: live.map { ($0, 0) })
        for map in maps.values { for s in map.shards { for r in s.replicas where live.contains(r) { load[r, default: 0] += 1 } } }
        let gone = Set(maps.values.flatMap { $0.shards.flatMap(\.replicas) }).subtracting(live)
        let since = missingSince.withLock { m -> [String: ContinuousClock.Instant] in
            m = m.filter { gone.contains($0.key) }
            for node in gone where m[node] == nil { m[node] = now }
            return m
        }
        for map in maps.values {
            if let stuck = map.pendingTransfers.first(where: { since[$0.to].map { now - $0 >= grace } ?? false }) {
                await abandon(stuck, of: map)
                continue
            }
            for shard in map.shards where map.transfer(into: shard.id) == nil {
                guard let departed = shard.replicas.first(where: { since[$0].map { now - $0 >= grace } ?? false }) else { continue }
                guard let target = live.subtracting(shard.replicas).min(by: { (load[$0] ?? 0, $0) < (load[$1] ?? 0, $1) }) else { continue }
                var next = map
                next.shards[shard.id].replicas.append(target)
                next.transfers = map.pendingTransfers + [.init(shard: shard.id, from: departed, to: target, sync: false)]
                next.nodeIDs = (map.nodeIDs ?? [:]).merging(members.filter { $0.name == target }.map { ($0.name, $0.nodeID) }) { $1 }
                if (try? await store.replace(next)) == true {
                    logger.notice("shards: \(departed) has been gone \(grace): its copy of shard \(shard.id) of '\(map.name)' is made again on \(target)")
                    load[target, default: 0] += 1
                }
                break  // one change per map per round: the next round reads the new revision
            }
        }
    }

    /// A transfer whose destination has been gone for the grace time is dropped with the
    /// destination's copy (the shard keeps the copies it had), so the shard can be repaired.
    private func abandon(_ t: ShardMap.Transfer, of map: ShardMap) async {
        var next = map
        next.shards[t.shard].replicas.removeAll { $0 == t.to }
        next.transfers = map.pendingTransfers.filter { $0 != t }
        if next.transfers?.isEmpty == true { next.transfers = nil }
        if (try? await store.replace(next)) == true {
            logger.notice("shards: \(t.to) has been gone \(grace): its unfinished copy of shard \(t.shard) of '\(map.name)' is abandoned")
        }
    }
}
