import Foundation
import HSDB
import Replication

/// The replication node as the cluster election drives it.
struct ClusterRoles: ClusterRoleControl {
    let node: ReplicationNode
    /// Why this copy may not lead besides damage (a shard's copy still being made), or nil.
    var refusesLead: @Sendable () -> String? = { nil }

    var nodeID: String { node.state.nodeID.uuidString.lowercased() }
    var roleName: String { node.role }

    var cannotLead: String? {
        if let why = refusesLead() { return why }
        let unrepaired = node.db.quarantined.filter { FileManager.default.fileExists(atPath: $0.directory) }.map(\.name)
        guard !unrepaired.isEmpty else { return nil }
        return "it set aside damaged collection(s) \(unrepaired.sorted().joined(separator: ", ")), not yet fetched again from a leader"
    }

    /// The highest epoch seen and each collection's durable LSN.
    func progress() -> ClusterProgress {
        var epoch = node.state.epoch
        if let f = node.follower { epoch = max(epoch, f.epochSeen) }
        var lsns: [String: UInt64] = [:]
        for item in (try? node.db.listCollections()) ?? [] {
            if let c = try? node.db.collection(item.name) { lsns[item.name] = c.durableLSN }
        }
        return ClusterProgress(epoch: epoch, lsns: lsns)
    }

    func stopFollowing() async { await node.retire("campaigning") }

    func lead(epoch: UInt64, former: String?) async throws { try await node.lead(epoch: epoch, former: former) }

    func follow(_ leader: ClusterLeader) async throws { try await node.follow(url: leader.advertise, epoch: leader.epoch) }

    func standBy(_ reason: String) async { await node.retire(reason) }
}
