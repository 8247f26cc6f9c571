import Foundation
import HSDBCore
import Hummingbird
import Replication

/// `GET /cluster` in Qdrant's shape (ClusterStatus: `{"status": "disabled"}` for a single
/// node, else peers, leader and term), with hsdb's own view under `hsdb`: the cluster and
/// node names, the leader of the current epoch, whether this node's lease is held, and each
/// member as published in etcd with, on the leader, its live lag. And `POST
/// /cluster/switchover`, the planned handover (DESIGN.md, "Automatic failover").
extension API {
    func registerCluster(on router: Router<Context>) {
        on(router, .get, "/cluster") { _, _, start in
            guard let cluster = replication.cluster else {
                return Envelope.ok(since: start) { w in
                    w.beginObject(); w.key("status"); w.string("disabled"); w.endObject()
                }
            }
            let followers = await replication.leader?.status() ?? []
            return Envelope.ok(since: start) { w in writeClusterStatus(cluster, followers: followers, to: &w) }
        }

        // Qdrant's consensus operations: a standalone node answers them 405 as Qdrant does;
        // a cluster member refuses them (membership is each member's lease in etcd).
        on(router, .post, "/cluster/recover") { _, _, _ in throw clusterOperationRefused("recovering the consensus state") }
        on(router, .delete, "/cluster/peer/:peer") { _, _, _ in throw clusterOperationRefused("removing a peer") }

        on(router, .post, "/cluster/switchover") { request, _, start in
            guard let cluster = replication.cluster else {
                throw APIError.wrongInput("this server is not in a cluster (started without --etcd): promote a follower with `hsdb replica promote`")
            }
            let target = request.uri.queryParameters.get("to").map { String($0) }
            let leader: ClusterLeader
            do {
                leader = try await cluster.switchover(to: target, catchUp: settings.replicaAckTimeout) { name in
                    await isCaughtUp(follower: name, in: cluster)
                }
            } catch let error as ClusterError {
                throw APIError(status: .conflict, message: "Conflict: \(error)")
            } catch let error as EtcdError {
                throw APIError(status: .serviceUnavailable, message: "Service unavailable: \(error)")
            }
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("leader"); w.string(leader.name)
                w.key("advertise"); w.string(leader.advertise)
                w.key("epoch"); w.int(leader.epoch)
                w.endObject()
            }
        }
    }

    private func clusterOperationRefused(_ what: String) -> APIError {
        guard let cluster = replication.cluster else {
            return APIError(status: .methodNotAllowed, message: "hsdb is running in standalone mode (started without --etcd)")
        }
        return APIError.wrongInput(
            "\(what) is not supported: cluster '\(cluster.settings.cluster)' keeps its membership in etcd, "
                + "where each member holds its own lease (stop a node and its lease lapses)")
    }

    /// The member named holds, durably, every collection through this leader's durable LSN.
    private func isCaughtUp(follower name: String, in cluster: ClusterElection) async -> Bool {
        guard let leader = replication.leader, let member = cluster.members.first(where: { $0.name == name }) else { return false }
        let status = await leader.status().filter { $0.node == member.nodeID }
        for item in (try? db.listCollections()) ?? [] {
            guard let c = try? db.collection(item.name) else { return false }
            guard let s = status.first(where: { $0.collection == item.name }), let durable = s.durableLSN,
                durable >= c.durableLSN
            else { return false }
        }
        return true
    }

    /// A peer id as Qdrant's (an integer): the first 48 bits of the node id, so it stays
    /// exact in JSON readers that hold numbers as doubles.
    static func peerID(_ nodeID: String) -> Int64 {
        let hex = nodeID.replacingOccurrences(of: "-", with: "").prefix(12)
        return Int64(hex, radix: 16) ?? 0
    }

    private func writeClusterStatus(_ cluster: ClusterElection, followers: [LeaderFollowerStatus], to w: inout JSONTextWriter) {
        let me = replication.state.nodeID.uuidString.lowercased()
        let members = cluster.members
        let leader = cluster.leader
        w.beginObject()
        w.key("status"); w.string("enabled")
        w.key("peer_id"); w.int(Self.peerID(me))
        w.key("peers"); w.beginObject()
        for m in members {
            w.key(String(Self.peerID(m.nodeID))); w.beginObject(); w.key("uri"); w.string(m.advertise); w.endObject()
        }
        w.endObject()
        w.key("raft_info"); w.beginObject()
        w.key("term"); w.int(leader?.epoch ?? replication.state.epoch)
        w.key("commit"); w.int(leader?.epoch ?? replication.state.epoch)
        w.key("pending_operations"); w.int(0)
        w.key("leader")
        if let leader { w.int(Self.peerID(leader.nodeID)) } else { w.null() }
        w.key("role")
        switch replication.roleNow {
        case .leader: w.string("Leader")
        case .follower, .fenced: w.string("Follower")
        case .standby: w.string("Candidate")
        }
        w.key("is_voter"); w.bool(true)
        w.endObject()
        w.key("consensus_thread_status"); w.beginObject()
        w.key("consensus_thread_status"); w.string("working")
        w.key("last_update"); w.string(ISO8601DateFormatter().string(from: Date()))
        w.endObject()
        w.key("message_send_failures"); w.beginObject(); w.endObject()
        w.key("hsdb")
        writeHSDBView(cluster, leader: leader, members: members, followers: followers, to: &w)
        w.endObject()
    }

    private func writeHSDBView(
        _ cluster: ClusterElection, leader: ClusterLeader?, members: [ClusterMember], followers: [LeaderFollowerStatus],
        to w: inout JSONTextWriter
    ) {
        w.beginObject()
        w.key("cluster"); w.string(cluster.settings.cluster)
        w.key("node"); w.string(cluster.settings.nodeName)
        w.key("role"); w.string(replication.role)
        w.key("epoch"); w.int(replication.state.epoch)
        w.key("lease_held"); w.bool(cluster.mayAcknowledge)
        w.key("etcd"); w.beginArray(); for e in cluster.settings.endpoints { w.string(e) }; w.endArray()
        w.key("lease_ttl_seconds"); w.int(cluster.settings.leaseTTL.components.seconds)
        w.key("leader")
        if let leader {
            w.beginObject()
            w.key("name"); w.string(leader.name)
            w.key("advertise"); w.string(leader.advertise)
            w.key("epoch"); w.int(leader.epoch)
            w.endObject()
        } else {
            w.null()
        }
        w.key("last_error")
        if let e = cluster.lastError { w.string(e) } else { w.null() }
        w.key("members"); w.beginArray()
        for m in members {
            w.beginObject()
            w.key("name"); w.string(m.name)
            w.key("advertise"); w.string(m.advertise)
            w.key("node_id"); w.string(m.nodeID)
            w.key("role"); w.string(m.name == leader?.name ? "leader" : m.role)
            w.key("epoch"); w.int(m.progress.epoch)
            w.key("durable_lsns"); w.beginObject()
            for (name, lsn) in m.progress.lsns.sorted(by: { $0.key < $1.key }) { w.key(name); w.int(lsn) }
            w.endObject()
            // Live on the leader (its view of each follower's acknowledgements); elsewhere null.
            let mine = followers.filter { $0.node == m.nodeID }
            w.key("lag_records")
            if case .leader = replication.roleNow, m.name != cluster.settings.nodeName, !mine.isEmpty {
                w.int(mine.reduce(UInt64(0)) { $0 + $1.lagRecords })
            } else {
                w.null()
            }
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }
}
