import HSDB
import HSDBCore
import Hummingbird
import Replication

/// `points/recommend` on a sharded collection: an example given by id lives on one shard
/// only, so its vector is fetched from that shard first and every shard gets the vectors
/// (with the same strategy, each shard scores its points exactly as one collection would).
/// The examples themselves, which one collection leaves out of the answer, are dropped
/// from the merged answer.
extension ShardCoordinator {
    func recommend(_ map: ShardMap, _ request: Request, _ start: ContinuousClock.Instant) async throws -> Response {
        var given = try fields(try await collect(request)).values
        for key in ["lookup_from", "shard_key"] where given[key] != nil && given[key] != .null {
            throw APIError.wrongInput("recommend with `\(key)` is not supported on a sharded collection yet")
        }
        let using = given["using"].flatMap(Self.string)
        var exampleIDs: [JSONValue] = []
        for key in ["positive", "negative"] {
            for v in Self.array(given[key]) where Self.isID(v) { exampleIDs.append(v) }
        }
        let vectors = try await exampleVectors(map, exampleIDs, using: using, request)
        for key in ["positive", "negative"] where given[key] != nil {
            given[key] = .array(Self.array(given[key]).map { v in Self.isID(v) ? Self.pointID(v).flatMap { vectors[$0] } ?? v : v })
        }
        let config = try Self.config(map)
        var plan = try Self.topPlan(given, defaultLimit: 10, lane: using ?? "", config)
        let strategy = given["strategy"].flatMap(Self.string) ?? "average_vector"
        if strategy != "average_vector" { plan.ascending = false }
        plan.body["limit"] = .int(Int64(plan.limit + plan.offset + exampleIDs.count))
        let answers = try await fanOut(map, request, .object(plan.body))
        let examples = Set(exampleIDs.compactMap(Self.pointID))
        let lists = answers.map { Self.array($0).filter { hit in ShardMerge.id(of: hit).flatMap(Self.pointID).map { !examples.contains($0) } ?? true } }
        let merged = ShardMerge.scored(lists, limit: plan.limit, offset: plan.offset, ascending: plan.ascending)
        return Envelope.ok(since: start) { w in w.value(.array(merged)) }
    }

    /// `points/query` near a stored point (`"query": id` or `{"nearest": id}`): its vector is
    /// fetched from its shard, every shard searches with it, and the point itself is left
    /// out of the merged answer, as one collection leaves it out.
    func nearestTo(_ map: ShardMap, _ id: JSONValue, _ given: JSONFields, _ request: Request, _ start: ContinuousClock.Instant) async throws -> Response {
        var body = given.values
        let using = body["using"].flatMap(Self.string)
        let target = Self.pointID(id)
        body["query"] = try await exampleVectors(map, [id], using: using, request)[target ?? .integer(0)]
        try Self.checkShardable(body)
        var plan = try Self.topPlan(body, defaultLimit: 10, lane: using ?? "", try Self.config(map))
        plan.body["limit"] = .int(Int64(plan.limit + plan.offset + 1))
        let lists = try await fanOut(map, request, .object(plan.body)).map { answer in
            Self.array(Self.field(answer, "points")).filter { hit in ShardMerge.id(of: hit).flatMap(Self.pointID) != target }
        }
        let merged = ShardMerge.scored(lists, limit: plan.limit, offset: plan.offset, ascending: plan.ascending)
        return Envelope.ok(since: start) { w in w.object(["points": .array(merged)]) }
    }

    /// The point a query names as its target, if it names one.
    static func pointTarget(_ query: JSONValue?) -> JSONValue? {
        if let q = query, isID(q) { return q }
        if case .object(let o)? = query, let near = o["nearest"], isID(near) { return near }
        return nil
    }

    /// The vectors of the examples given by id (`using`'s, or the one dense vector), by the
    /// id's JSON text; an id no shard holds is refused as one collection refuses it.
    private func exampleVectors(
        _ map: ShardMap, _ ids: [JSONValue], using: String?, _ request: Request
    ) async throws -> [PointID: JSONValue] {
        guard !ids.isEmpty else { return [:] }
        let ring = map.ring
        var byShard: [Int: [JSONValue]] = [:]
        for (i, v) in ids.enumerated() { byShard[ring.shard(of: try PointDecoding.id(v, path: "examples[\(i)]")), default: []].append(v) }
        let path = "/collections/\(Self.segment(map.name))/points"
        var found: [PointID: JSONValue] = [:]
        for (shard, shardIDs) in byShard {
            let body = Self.encode(.object(["ids": .array(shardIDs), "with_vector": .bool(true), "with_payload": .bool(false)]))
            for record in Self.array(try ShardRouter.result(try await router.read(map, shard, .POST, path, body))) {
                guard let id = ShardMerge.id(of: record).flatMap(Self.pointID), let vector = Self.field(record, "vector") else { continue }
                if case .object(let named) = vector, let using { found[id] = named[using] } else { found[id] = vector }
            }
        }
        for v in ids where Self.pointID(v).flatMap({ found[$0] }) == nil {
            throw APIError.notFound("No point with id \((try? PointDecoding.id(v, path: "id"))?.description ?? "\(v)") found")
        }
        return found
    }

    static func pointID(_ v: JSONValue) -> PointID? { try? PointDecoding.id(v, path: "id") }

    static func isID(_ v: JSONValue) -> Bool {
        switch v {
        case .int, .string: true
        default: false
        }
    }
}
