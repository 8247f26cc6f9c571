import Foundation
import HSDB
import HSDBCore
import Hummingbird
import Replication

extension ShardCoordinator {
    /// How long a create waits for every shard to have a leader (it answers either way: a
    /// write to a shard still electing waits for it).
    static let createWait: Duration = .seconds(15)

    /// This node's collections and the sharded ones, by name.
    func list(
        _ request: Request, _ context: HSDBRequestContext, next: (Request, HSDBRequestContext) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let sharded = (try? await groups.refresh()) ?? groups.maps
        let local = try db.listCollections().map(\.name)
        return Envelope.ok(since: start) { w in
            w.beginObject()
            w.key("collections")
            w.beginArray()
            for name in local + sharded.keys.sorted() where local.contains(name) || sharded[name] != nil {
                w.beginObject(); w.key("name"); w.string(name); w.endObject()
            }
            w.endArray()
            w.endObject()
        }
    }

    /// `PUT /collections/{c}` with `shard_number`: places the shards on the cluster's nodes
    /// and records the map in etcd (one transaction: of two creates, one wins), then waits
    /// for every shard to elect its leader.
    func create(_ name: String, body: [UInt8], fields: JSONFields, start: ContinuousClock.Instant) async throws -> Response {
        _ = try API.pathName(name, kind: "collection")
        let shardNumber = try CollectionSpec.positiveU32(fields, "shard_number") ?? 1
        let factor = try CollectionSpec.positiveU32(fields, "replication_factor") ?? 1
        let writeFactor = try CollectionSpec.writeConsistencyFactor(fields) ?? 1
        _ = try CollectionSpec.config(from: fields)
        guard (try? db.collection(name)) == nil else { throw APIError(HSDBError.collectionAlreadyExists(name)) }
        let members = try await groups.store.members()
        let nodes = members.map(\.name)
        guard factor <= nodes.count else {
            throw APIError.wrongInput(
                "replication_factor \(factor) needs \(factor) nodes, and cluster '\(groups.store.settings.cluster)' has \(nodes.count) now")
        }
        guard writeFactor <= factor else {
            throw APIError.wrongInput("write_consistency_factor \(writeFactor) exceeds replication_factor \(factor)")
        }
        var map = ShardMap(
            name: name, uid: UUID().uuidString.lowercased(), replicationFactor: factor, writeConsistencyFactor: writeFactor,
            config: String(decoding: body, as: UTF8.self),
            shards: ShardMap.place(shardNumber: shardNumber, replicationFactor: factor, on: nodes))
        map.nodeIDs = Dictionary(members.map { ($0.name, $0.nodeID) }) { a, _ in a }
        guard try await groups.store.create(map) else { throw APIError(HSDBError.collectionAlreadyExists(name)) }
        let created = try await groups.refresh()[name] ?? map
        await awaitLeaders(created)
        return Envelope.ok(since: start) { $0.bool(true) }
    }

    /// Waits (up to `createWait`) until every shard's leader answers for the collection.
    private func awaitLeaders(_ map: ShardMap) async {
        let deadline = ContinuousClock.now + Self.createWait
        for shard in map.shards.indices {
            while ContinuousClock.now < deadline {
                if let answer = try? await router.read(map, shard, .GET, "/collections/\(Self.segment(map.name))", nil),
                    answer.status == 200, (try? await groups.store.leader(of: map, shard: shard)) != nil
                {
                    break
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// `DELETE /collections/{c}`: drops the map; every node then stops and removes its copies.
    func drop(_ map: ShardMap, _ start: ContinuousClock.Instant) async throws -> Response {
        var current: ShardMap? = map
        while let m = current {
            if try await groups.store.drop(m) { break }
            current = try await groups.store.map(m.name)
        }
        _ = try? await groups.refresh()
        return Envelope.ok(since: start) { $0.bool(current != nil) }
    }

    /// `GET /collections/{c}`: one copy's answer per shard, counts summed, the sharding named.
    func info(_ map: ShardMap, _ request: Request, _ start: ContinuousClock.Instant) async throws -> Response {
        let path = request.uri.description
        let router = router
        let answers = try await Self.eachShard(map) { shard in
            try ShardRouter.result(try await router.read(map, shard, .GET, path, nil))
        }
        guard case .object(var merged)? = answers.first else { throw APIError(status: .badGateway, message: "Bad gateway: no shard answered") }
        for key in ["points_count", "indexed_vectors_count", "vectors_count", "segments_count"] where merged[key] != nil {
            merged[key] = .int(answers.reduce(0) { $0 + ShardMerge.int($1, key) })
        }
        for answer in answers {
            if case .object(let o) = answer, case .string(let status)? = o["status"], status != "green" { merged["status"] = .string(status) }
        }
        if case .object(var config)? = merged["config"], case .object(var params)? = config["params"] {
            params["shard_number"] = .int(Int64(map.shards.count))
            params["replication_factor"] = .int(Int64(map.replicationFactor))
            params["write_consistency_factor"] = .int(Int64(map.writeConsistencyFactor))
            config["params"] = .object(params)
            merged["config"] = .object(config)
        }
        return Envelope.ok(since: start) { $0.value(.object(merged)) }
    }
}
