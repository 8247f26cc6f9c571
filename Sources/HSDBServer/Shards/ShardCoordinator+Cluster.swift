import HSDBCore
import Hummingbird
import Replication

/// Qdrant's collection cluster API on a sharded collection (DESIGN.md, "Shards: moves").
extension ShardCoordinator {
    /// `GET /collections/{c}/cluster`: this node's copies with their point counts, the other
    /// nodes' by peer id, and the transfers under way; a transfer's destination is `Partial`.
    func clusterInfo(_ map: ShardMap, _ start: ContinuousClock.Instant) async throws -> Response {
        let me = groups.nodeName
        var local: [JSONValue] = []
        var remote: [JSONValue] = []
        let peers = await peerIDs(map)
        for shard in map.shards {
            for node in shard.replicas {
                let state = map.transfer(into: shard.id)?.to == node ? "Partial" : "Active"
                if node == me {
                    let points = groups.group(uid: map.uid, shard: shard.id).flatMap { try? $0.db.collection(map.name).count() } ?? 0
                    local.append(.object(["shard_id": .int(Int64(shard.id)), "points_count": .int(Int64(points)), "state": .string(state)]))
                } else {
                    remote.append(.object(["shard_id": .int(Int64(shard.id)), "peer_id": .int(peers[node] ?? 0), "state": .string(state)]))
                }
            }
        }
        let transfers: [JSONValue] = map.pendingTransfers.map { t in
            .object([
                "shard_id": .int(Int64(t.shard)), "from": .int(peers[t.from] ?? 0), "to": .int(peers[t.to] ?? 0), "sync": .bool(t.sync),
                "method": .string("snapshot"),
            ])
        }
        return Envelope.ok(since: start) { w in
            w.object([
                "peer_id": .int(peers[me] ?? 0), "shard_count": .int(Int64(map.shards.count)), "local_shards": .array(local),
                "remote_shards": .array(remote), "shard_transfers": .array(transfers),
            ])
        }
    }

    /// `POST /collections/{c}/cluster`: `move_shard`, `replicate_shard`, `abort_transfer`,
    /// `drop_replica`. A move or replication is recorded in the map and answered at once
    /// (as Qdrant answers); the destination completes it (`shard_transfers` shows it until
    /// then).
    func updateCluster(_ map: ShardMap, _ request: Request, _ start: ContinuousClock.Instant) async throws -> Response {
        let given = try fields(try await collect(request))
        let known = ["move_shard", "replicate_shard", "abort_transfer", "drop_replica"]
        let ops = given.values.keys.filter { $0 != "timeout" }
        guard ops.count == 1, let op = ops.first else {
            throw APIError.format("expected one of \(known.map { "`\($0)`" }.joined(separator: ", "))")
        }
        guard known.contains(op) else { throw APIError.wrongInput("`\(op)` is not supported on hsdb's sharded collections") }
        let spec = try JSONFields(given[op]!, path: op)
        let peers = await peerIDs(map)
        func node(_ key: String) throws -> String {
            guard let id = try spec.count(key, max: Int.max) else { throw APIError.format("missing field `\(op).\(key)`") }
            guard let name = peers.first(where: { $0.value == Int64(id) })?.key else {
                throw APIError.wrongInput("Peer \(id) does not exist")
            }
            return name
        }
        guard let shard = try spec.count("shard_id"), shard < map.shards.count else {
            throw APIError.wrongInput("Shard \((try? spec.count("shard_id")).flatMap { $0 }.map(String.init) ?? "?") does not exist")
        }
        var next = map
        switch op {
        case "move_shard", "replicate_shard":
            let (from, to) = (try node("from_peer_id"), try node("to_peer_id"))
            try checkTransfer(map, shard, from: from, to: to, live: Set(await liveNodes()))
            next.shards[shard].replicas.append(to)
            if let member = try? await groups.store.members().first(where: { $0.name == to }) {
                next.nodeIDs = (map.nodeIDs ?? [:]).merging([to: member.nodeID]) { $1 }
            }
            next.transfers = map.pendingTransfers + [.init(shard: shard, from: from, to: to, sync: op == "replicate_shard")]
        case "abort_transfer":
            let (from, to) = (try node("from_peer_id"), try node("to_peer_id"))
            guard let t = map.transfer(into: shard), t.from == from, t.to == to else {
                throw APIError.wrongInput("There is no transfer of shard \(shard) from peer \(peers[from] ?? 0) to peer \(peers[to] ?? 0)")
            }
            next.shards[shard].replicas.removeAll { $0 == to }
            next.transfers = map.pendingTransfers.filter { $0 != t }
        default:
            let peer = try node("peer_id")
            let replicas = map.shards[shard].replicas
            guard replicas.contains(peer) else { throw APIError.wrongInput("Shard \(shard) is not present on peer \(peers[peer] ?? 0)") }
            guard replicas.count > 1 else { throw APIError.wrongInput("Shard \(shard) has one copy only: it cannot be dropped") }
            guard map.transfer(into: shard) == nil else { throw APIError.wrongInput("Shard \(shard) has a transfer under way") }
            try await handOffLead(map, shard, from: peer)
            next.shards[shard].replicas.removeAll { $0 == peer }
        }
        if next.transfers?.isEmpty == true { next.transfers = nil }
        guard try await groups.store.replace(next) else {
            throw APIError(status: .conflict, message: "Conflict: the shard map of '\(map.name)' changed meanwhile; retry")
        }
        _ = try? await groups.refresh()
        return Envelope.ok(since: start) { $0.bool(true) }
    }

    private func checkTransfer(_ map: ShardMap, _ shard: Int, from: String, to: String, live: Set<String>) throws {
        let replicas = map.shards[shard].replicas
        guard replicas.contains(from) else { throw APIError.wrongInput("Shard \(shard) is not present on the source peer (\(from))") }
        guard !replicas.contains(to) else { throw APIError.wrongInput("Shard \(shard) is already present on the destination peer (\(to))") }
        guard live.contains(to) else { throw APIError.wrongInput("The destination peer (\(to)) is not a live member of the cluster") }
        guard map.transfer(into: shard) == nil else { throw APIError.wrongInput("Shard \(shard) has a transfer under way already") }
    }

    /// Before `node`'s copy is dropped: if it leads the shard, the lead goes to the most
    /// advanced other copy first (a switchover), so no acknowledged write is lost.
    private func handOffLead(_ map: ShardMap, _ shard: Int, from node: String) async throws {
        guard let leader = try await groups.store.leader(of: map, shard: shard), leader.name == node else { return }
        let answer = try await router.peers.call(.POST, leader.advertise, "/cluster/switchover", body: nil)
        guard answer.status == 200 else {
            throw APIError(
                status: .conflict,
                message: "Conflict: the copy on \(node) leads shard \(shard) and could not hand over: \(ShardRouter.message(answer))")
        }
    }

    /// Peer ids (Qdrant's integers) of the map's nodes and the live members, by node name.
    func peerIDs(_ map: ShardMap) async -> [String: Int64] {
        var ids = (map.nodeIDs ?? [:]).mapValues(API.peerID)
        for member in (try? await groups.store.members()) ?? [] { ids[member.name] = API.peerID(member.nodeID) }
        return ids
    }

    private func liveNodes() async -> [String] { ((try? await groups.store.members()) ?? []).map(\.name) }
}
