import HSDB
import HSDBCore
import Hummingbird
import Replication

extension ShardCoordinator {
    /// `points/search` (and `/batch`): every shard asked for `offset + limit` from the top,
    /// the answers merged into one top list, then `offset` skipped.
    func search(_ map: ShardMap, _ request: Request, _ start: ContinuousClock.Instant, batch: Bool) async throws -> Response {
        let given = try fields(try await collect(request))
        let config = try Self.config(map)
        let searches = batch ? try Self.list(given, "searches") : [given.values]
        let plans = try searches.map { try Self.topPlan($0, defaultLimit: nil, lane: Self.laneName($0["vector"]), config) }
        let body = Self.body(given, plans, batch: batch)
        let answers = try await fanOut(map, request, body)
        let merged = plans.indices.map { i in
            ShardMerge.scored(
                answers.map { Self.array(batch ? Self.element($0, i) : $0) }, limit: plans[i].limit, offset: plans[i].offset,
                ascending: plans[i].ascending)
        }
        return Envelope.ok(since: start) { w in w.value(batch ? .array(merged.map { .array($0) }) : .array(merged[0])) }
    }

    /// `points/query` (and `/batch`) with a vector to be near (or none): merged as a search.
    /// Queries that need one shard's points on the others (by point id, recommend, discover,
    /// context, prefetch and fusion, order_by, sample) are refused on a sharded collection.
    func query(_ map: ShardMap, _ request: Request, _ start: ContinuousClock.Instant, batch: Bool) async throws -> Response {
        let given = try fields(try await collect(request))
        let config = try Self.config(map)
        let queries = batch ? try Self.list(given, "searches") : [given.values]
        if !batch, given.has("prefetch") { return try await fused(map, given, request, start) }
        if !batch, let id = Self.pointTarget(given["query"]) { return try await nearestTo(map, id, given, request, start) }
        for q in queries { try Self.checkShardable(q) }
        let plans = try queries.map { try Self.topPlan($0, defaultLimit: 10, lane: ($0["using"]).flatMap(Self.string) ?? "", config) }
        let body = Self.body(given, plans, batch: batch)
        let answers = try await fanOut(map, request, body)
        let merged = plans.indices.map { i -> JSONValue in
            let lists = answers.map { Self.array(Self.field(batch ? Self.element($0, i) : $0, "points")) }
            let plan = plans[i]
            return .object(["points": .array(ShardMerge.scored(lists, limit: plan.limit, offset: plan.offset, ascending: plan.ascending))])
        }
        return Envelope.ok(since: start) { w in w.value(batch ? .array(merged) : merged[0]) }
    }

    /// `points/scroll` by id: every shard asked for the same page, the pages merged by id.
    func scroll(_ map: ShardMap, _ request: Request, _ start: ContinuousClock.Instant) async throws -> Response {
        let given = try fields(try await collect(request))
        if given.has("order_by") { throw APIError.wrongInput("scroll with `order_by` is not supported on a sharded collection yet") }
        let limit = try given.count("limit") ?? 10
        guard limit >= 1 else { throw APIError.wrongInput("limit must be at least 1") }
        let answers = try await fanOut(map, request, .object(given.values))
        let pages = answers.map { (points: Self.array(Self.field($0, "points")), next: Self.field($0, "next_page_offset")) }
        let (points, next) = ShardMerge.scroll(pages.map { ($0.points, $0.next == .null ? nil : $0.next) }, limit: limit)
        return Envelope.ok(since: start) { w in w.object(["points": .array(points), "next_page_offset": next ?? .null]) }
    }

    /// `points/count`: the shards' counts summed.
    func count(_ map: ShardMap, _ request: Request, _ start: ContinuousClock.Instant) async throws -> Response {
        let body = try await collect(request)
        let value: JSONValue = body.isEmpty ? .object([:]) : .object(try fields(body).values)
        let answers = try await fanOut(map, request, value)
        return Envelope.ok(since: start) { w in w.object(["count": .int(answers.reduce(0) { $0 + ShardMerge.int($1, "count") })]) }
    }

    /// `facet`: every shard asked for all its values' counts (so the sums are exact), summed,
    /// then ordered as one collection orders them and cut to `limit`.
    func facet(_ map: ShardMap, _ request: Request, _ start: ContinuousClock.Instant) async throws -> Response {
        let given = try fields(try await collect(request))
        let limit = try given.count("limit", max: Self.facetValuesMax) ?? 10
        guard limit >= 1 else { throw APIError.validation("limit", "value 0 invalid, must be 1 or larger") }
        var body = given.values
        body["limit"] = .int(Int64(Self.facetValuesMax))
        let answers = try await fanOut(map, request, .object(body))
        let hits = ShardMerge.facets(answers.map { Self.array(Self.field($0, "hits")) }, limit: limit)
        return Envelope.ok(since: start) { w in w.object(["hits": .array(hits)]) }
    }

    static let facetValuesMax = 1_000_000

    /// `POST points` by ids: each shard asked for its ids; the records in the order asked (an id asked twice, twice).
    func retrieve(_ map: ShardMap, _ request: Request, _ start: ContinuousClock.Instant) async throws -> Response {
        let given = try fields(try await collect(request))
        guard let idsValue = given["ids"] else { throw APIError.format("missing field `ids`") }
        let ids = try PointDecoding.ids(idsValue, path: "ids", limit: settings.maxBatchPoints)
        let ring = map.ring
        var byShard: [Int: [JSONValue]] = [:]
        guard case .array(let raw) = idsValue else { throw APIError.format("ids: expected an array") }
        for (id, value) in zip(ids, raw) { byShard[ring.shard(of: id), default: []].append(value) }
        let (router, path) = (router, request.uri.description)
        let records = try await withThrowingTaskGroup(of: [JSONValue].self) { group in
            for (shard, shardIDs) in byShard {
                var body = given.values
                body["ids"] = .array(shardIDs)
                let bytes = Self.encode(.object(body))
                group.addTask { Self.array(try ShardRouter.result(try await router.read(map, shard, .POST, path, bytes))) }
            }
            var all: [JSONValue] = []
            for try await part in group { all += part }
            return all
        }
        var found: [PointID: JSONValue] = [:]
        for r in records { if let v = ShardMerge.id(of: r), let id = try? PointDecoding.id(v, path: "id") { found[id] = r } }
        let ordered = ids.compactMap { found[$0] }
        return Envelope.ok(since: start) { w in w.value(.array(ordered)) }
    }

    /// `GET points/{id}`: asked of the id's shard, its answer relayed.
    func retrieveOne(_ map: ShardMap, _ raw: String, _ request: Request) async throws -> Response {
        let text = try API.pathName(raw, kind: "point id")
        let id = try PointDecoding.id(Int64(text).map { .int($0) } ?? .string(text), path: "id")
        return Self.relay(try await router.read(map, map.ring.shard(of: id), .GET, request.uri.description, nil))
    }

    // MARK: Pieces

    /// Sends the same read to one copy of every shard; their results in shard order.
    func fanOut(_ map: ShardMap, _ request: Request, _ body: JSONValue) async throws -> [JSONValue] {
        let (router, path, bytes) = (router, request.uri.description, Self.encode(body))
        return try await Self.eachShard(map) { shard in try ShardRouter.result(try await router.read(map, shard, .POST, path, bytes)) }
    }

    struct TopPlan {
        var body: [String: JSONValue]
        var limit: Int
        var offset: Int
        var ascending: Bool
    }

    /// A top-k request as each shard gets it: `offset + limit` from the top, no offset.
    static func topPlan(_ q: [String: JSONValue], defaultLimit: Int?, lane: String, _ config: CollectionConfig) throws -> TopPlan {
        let fields = try JSONFields(.object(q), path: "")
        guard let limit = try fields.count("limit") ?? defaultLimit else { throw APIError.format("missing field `limit`") }
        let offset = try fields.count("offset") ?? 0
        guard limit >= 0, offset >= 0 else { throw APIError.wrongInput("limit and offset must not be negative") }
        var body = q
        body["limit"] = .int(Int64(limit + offset))
        body["offset"] = nil
        let metric = lane.isEmpty ? config.metric : config.lane(of: lane).map { config.dense($0).metric }
        return TopPlan(body: body, limit: limit, offset: offset, ascending: metric == .euclidean)
    }

    /// The body each shard gets: the one plan's, or the batch with every plan's.
    static func body(_ given: JSONFields, _ plans: [TopPlan], batch: Bool) -> JSONValue {
        guard batch else { return .object(plans[0].body) }
        return .object(given.values.merging(["searches": .array(plans.map { .object($0.body) })]) { $1 })
    }

    /// Refuses a query whose answer on one shard needs points held by others.
    static func checkShardable(_ q: [String: JSONValue]) throws {
        for key in ["prefetch", "lookup_from"] where q[key] != nil && q[key] != .null {
            throw APIError.wrongInput("a query with `\(key)` is not supported on a sharded collection yet")
        }
        switch q["query"] {
        case nil, .null?, .array?: return
        case .object(let o)?:
            if o["indices"] != nil { return }
            if let near = o["nearest"], case .array = near { return }
            if case .object(let sparse)? = o["nearest"], sparse["indices"] != nil { return }
            let keys = o.keys.sorted().joined(separator: ", ")
            throw APIError.wrongInput("this query (\(keys)) is not supported on a sharded collection yet: only a vector to be near")
        default:
            throw APIError.wrongInput("a query by point id is not supported on a sharded collection yet: give the vector")
        }
    }

    /// The named vector a search's `vector` names (`{"name": ..., "vector": ...}`), or "".
    static func laneName(_ vector: JSONValue?) -> String {
        guard case .object(let o)? = vector, case .string(let name)? = o["name"] else { return "" }
        return name
    }

    static func list(_ fields: JSONFields, _ key: String) throws -> [[String: JSONValue]] {
        guard case .array(let list)? = fields[key] else { throw APIError.format("missing field `\(key)`") }
        return try list.enumerated().map { i, v in
            guard case .object(let o) = v else { throw JSONFields.typeError("\(key)[\(i)]", "an object", v) }
            return o
        }
    }

    static func string(_ v: JSONValue) -> String? { if case .string(let s) = v { s } else { nil } }
    static func array(_ v: JSONValue?) -> [JSONValue] { if case .array(let a)? = v { a } else { [] } }
    static func field(_ v: JSONValue, _ key: String) -> JSONValue? { if case .object(let o) = v { o[key] } else { nil } }
    static func element(_ v: JSONValue, _ i: Int) -> JSONValue { if case .array(let a) = v, i < a.count { a[i] } else { .null } }
}
