import HSDB
import HSDBCore
import Hummingbird
import Replication

/// `points/query` with prefetches on a sharded collection (one level): each prefetch runs
/// across the shards as a query of its own (the outer filter joined to its own, as one
/// collection applies it) and is merged into its global top list; then the coordinator
/// fuses those lists with the engine's own fusion (`ScoreFusion`), or, for a vector over
/// the prefetches, every shard scores exactly its part of their union. The records'
/// payloads and vectors are fetched last, for the answer's points only.
extension ShardCoordinator {
    func fused(_ map: ShardMap, _ given: JSONFields, _ request: Request, _ start: ContinuousClock.Instant) async throws -> Response {
        let config = try Self.config(map)
        let decoded = try QueryRequest.query(given, naming: VectorNaming(config), maxResults: settings.maxResultPoints) { 0 }
        guard decoded.prefetch.allSatisfy(\.prefetch.isEmpty) else {
            throw APIError.wrongInput("nested prefetches are not supported on a sharded collection yet")
        }
        let prefetches = try Self.prefetchList(given["prefetch"])
        let outer = given["filter"].flatMap { $0 == .null ? nil : $0 }
        var lists: [ScoreFusion.Ranked] = []
        for p in prefetches {
            var body = p
            body["filter"] = Self.joined(outer, p["filter"])
            let plan = try Self.topPlan(body, defaultLimit: 10, lane: p["using"].flatMap(Self.string) ?? "", config)
            let answers = try await fanOut(map, request, .object(plan.body))
            let merged = ShardMerge.scored(answers.map { Self.array(Self.field($0, "points")) }, limit: plan.limit, offset: 0, ascending: plan.ascending)
            lists.append(ScoreFusion.Ranked(hits: try merged.map(Self.scoredPoint), higherIsBetter: !plan.ascending))
        }
        let wanted = decoded.limit + decoded.offset
        var ranked: [(id: PointID, score: Float)]
        if case .fusion(let fusion) = decoded.target {
            ranked = ScoreFusion.fuse(lists, fusion)
            if let t = decoded.scoreThreshold { ranked.removeAll { $0.score < t } }
        } else {
            ranked = try await rescored(map, given, lists, outer: outer, wanted: wanted, config, request)
        }
        let page = Array(ranked.prefix(wanted).dropFirst(decoded.offset))
        let records = try await records(map, page.map(\.id), given, request)
        let points: [JSONValue] = page.compactMap { hit in
            guard case .object(var o)? = records[hit.id] else { return nil }
            o["score"] = .double(Double(hit.score))
            o["version"] = o["version"] ?? .int(0)
            return .object(o)
        }
        return Envelope.ok(since: start) { w in w.object(["points": .array(points)]) }
    }

    /// A vector (or sparse vector) over the prefetches: the union of their hits, scored
    /// exactly by every shard holding some of them.
    private func rescored(
        _ map: ShardMap, _ given: JSONFields, _ lists: [ScoreFusion.Ranked], outer: JSONValue?, wanted: Int,
        _ config: CollectionConfig, _ request: Request
    ) async throws -> [(id: PointID, score: Float)] {
        guard given["query"].map(Self.isVectorQuery) ?? false else {
            throw APIError.wrongInput("this query over prefetches is not supported on a sharded collection yet: only a fusion or a vector")
        }
        let ids = Array(Set(lists.flatMap { $0.hits.map(\.id) }))
        guard !ids.isEmpty else { return [] }
        var body = given.values.filter { ["query", "using", "params"].contains($0.key) }
        let hasID = JSONValue.object(["has_id": .array(ids.map { Self.idValue($0) })])
        body["filter"] = Self.joined(outer, .object(["must": .array([hasID])]))
        body["params"] = .object(["exact": .bool(true)])
        let plan = try Self.topPlan(body.merging(["limit": .int(Int64(wanted))]) { $1 }, defaultLimit: 10,
                                    lane: given["using"].flatMap(Self.string) ?? "", config)
        let answers = try await fanOut(map, request, .object(plan.body))
        let merged = ShardMerge.scored(answers.map { Self.array(Self.field($0, "points")) }, limit: wanted, offset: 0, ascending: plan.ascending)
        return try merged.map { let p = try Self.scoredPoint($0); return (p.id, p.score) }
    }

    /// The answer's records (payload and vectors as asked), by id, from their shards.
    private func records(_ map: ShardMap, _ ids: [PointID], _ given: JSONFields, _ request: Request) async throws -> [PointID: JSONValue] {
        let ring = map.ring
        var byShard: [Int: [PointID]] = [:]
        for id in ids { byShard[ring.shard(of: id), default: []].append(id) }
        let path = "/collections/\(Self.segment(map.name))/points"
        var found: [PointID: JSONValue] = [:]
        for (shard, shardIDs) in byShard {
            let body = Self.encode(.object([
                "ids": .array(shardIDs.map { Self.idValue($0) }), "with_payload": given["with_payload"] ?? .bool(false),
                "with_vector": given["with_vector"] ?? given["with_vectors"] ?? .bool(false),
            ]))
            for r in Self.array(try ShardRouter.result(try await router.read(map, shard, .POST, path, body))) {
                if let v = ShardMerge.id(of: r), let id = try? PointDecoding.id(v, path: "id") { found[id] = r }
            }
        }
        return found
    }

    static func prefetchList(_ value: JSONValue?) throws -> [[String: JSONValue]] {
        switch value {
        case .object(let o)?: return [o]
        case .array(let list)?:
            return try list.map { guard case .object(let o) = $0 else { throw APIError.format("prefetch: expected objects") }; return o }
        default: return []
        }
    }

    /// Two filters that must both hold (either may be absent).
    static func joined(_ a: JSONValue?, _ b: JSONValue?) -> JSONValue? {
        let both = [a, b].compactMap { $0 }.filter { $0 != .null }
        return both.count < 2 ? both.first : .object(["must": .array(both)])
    }

    static func isVectorQuery(_ q: JSONValue) -> Bool {
        switch q {
        case .array: return true
        case .object(let o): return o["indices"] != nil || o["nearest"] != nil
        default: return false
        }
    }

    static func scoredPoint(_ v: JSONValue) throws -> ScoredPoint {
        let id = try PointDecoding.id(ShardMerge.id(of: v) ?? .null, path: "id")
        return ScoredPoint(id: id, version: 0, score: Float(ShardMerge.score(of: v)), vector: nil, payload: nil)
    }

    static func idValue(_ id: PointID) -> JSONValue {
        switch id {
        case .integer(let n): .int(Int64(n))
        case .uuid: .string(id.description)
        }
    }
}
