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
            given[key] = .array(Self.array(given[key]).map { Self.isID($0) ? vectors["\($0)"] ?? $0 : $0 })
        }
        let config = try Self.config(map)
        var plan = try Self.topPlan(given, defaultLimit: 10, lane: using ?? "", config)
        let strategy = given["strategy"].flatMap(Self.string) ?? "average_vector"
        if strategy != "average_vector" { plan.ascending = false }
        plan.body["limit"] = .int(Int64(plan.limit + plan.offset + exampleIDs.count))
        let answers = try await fanOut(map, request, .object(plan.body))
        let examples = Set(exampleIDs.map { "\($0)" })
        let lists = answers.map { Self.array($0).filter { ShardMerge.id(of: $0).map { !examples.contains("\($0)") } ?? true } }
        let merged = ShardMerge.scored(lists, limit: plan.limit, offset: plan.offset, ascending: plan.ascending)
        return Envelope.ok(since: start) { w in w.value(.array(merged)) }
    }

    /// The vectors of the examples given by id (`using`'s, or the one dense vector), by the
    /// id's JSON text; an id no shard holds is refused as one collection refuses it.
    private func exampleVectors(_ map: ShardMap, _ ids: [JSONValue], using: String?, _ request: Request) async throws -> [String: JSONValue] {
        guard !ids.isEmpty else { return [:] }
        let ring = map.ring
        var byShard: [Int: [JSONValue]] = [:]
        for (i, v) in ids.enumerated() { byShard[ring.shard(of: try PointDecoding.id(v, path: "examples[\(i)]")), default: []].append(v) }
        let path = "/collections/\(Self.segment(map.name))/points"
        var found: [String: JSONValue] = [:]
        for (shard, shardIDs) in byShard {
            let body = Self.encode(.object(["ids": .array(shardIDs), "with_vector": .bool(true), "with_payload": .bool(false)]))
            for record in Self.array(try ShardRouter.result(try await router.read(map, shard, .POST, path, body))) {
                guard let id = ShardMerge.id(of: record), let vector = Self.field(record, "vector") else { continue }
                if case .object(let named) = vector, let using { found["\(id)"] = named[using] } else { found["\(id)"] = vector }
            }
        }
        for v in ids where found["\(v)"] == nil {
            throw APIError.notFound("No point with id \((try? PointDecoding.id(v, path: "id"))?.description ?? "\(v)") found")
        }
        return found
    }

    static func isID(_ v: JSONValue) -> Bool {
        switch v {
        case .int, .string: true
        default: false
        }
    }
}
