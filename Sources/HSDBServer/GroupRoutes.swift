import Foundation
import HSDB
import HSDBCore
import Hummingbird

/// A grouped search (`POST .../points/query/groups`, `.../search/groups`,
/// `.../recommend/groups`): the query, the field to group by, hits per group, groups, and
/// the collection whose points with the groups' ids come beside them (`with_lookup`).
struct GroupRequest {
    var query: QueryRequest
    var groupBy: String
    var groupSize: Int
    var lookup: Lookup?

    /// `with_lookup`: a collection name, or `{"collection", "with_payload" (default true),
    /// "with_vectors" (or "with_vector", default false)}`.
    struct Lookup {
        var collection: String
        var payload: JSONValue?
        var vectors: JSONValue?
    }

    /// The fields a group request adds to its query's.
    static let fields: Set<String> = ["group_by", "group_size", "with_lookup"]

    init(_ body: JSONFields, query: QueryRequest) throws {
        self.query = query
        guard let groupBy = try body.string("group_by") else { throw APIError.format("missing field `group_by`") }
        guard !groupBy.isEmpty else { throw APIError.validation("group_by", "value \"\" invalid, must be at least 1 character") }
        self.groupBy = groupBy
        groupSize = try body.count("group_size", max: 10_000) ?? 3
        guard groupSize >= 1 else { throw APIError.validation("group_size", "value 0 invalid, must be 1 or larger") }
        guard query.limit >= 1 else { throw APIError.validation("limit", "value 0 invalid, must be 1 or larger") }
        switch body["with_lookup"] {
        case nil: lookup = nil
        case .string(let name)?: lookup = Lookup(collection: name)
        case let value?:
            let l = try JSONFields(value, path: body.fieldPath("with_lookup"))
            guard let name = try l.string("collection") else { throw APIError.format("\(l.path): missing field `collection`") }
            lookup = Lookup(collection: name, payload: l["with_payload"], vectors: l["with_vectors"] ?? l["with_vector"])
        }
    }
}

extension API {
    func registerGroups(on router: Router<Context>) {
        on(router, .post, "/collections/:collection/points/query/groups") { request, context, start in
            let c = try collection(context)
            let body = try await body(request)
            let q = try QueryRequest.query(body, naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count)
            return try answer(GroupRequest(body, query: q), on: c, since: start)
        }
        on(router, .post, "/collections/:collection/points/search/groups") { request, context, start in
            let c = try collection(context)
            let body = try await body(request)
            let q = try QueryRequest.search(body, naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count)
            return try answer(GroupRequest(body, query: q), on: c, since: start)
        }
        on(router, .post, "/collections/:collection/points/recommend/groups") { request, context, start in
            let c = try collection(context)
            let body = try await body(request)
            let query = try JSONFields(.object(body.values.filter { !GroupRequest.fields.contains($0.key) }), path: body.path)
            let q = try QueryRequest.recommend(query, naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count)
            return try answer(GroupRequest(body, query: q), on: c, since: start)
        }
    }

    /// `{"groups": [{"id", "hits", "lookup"?}, ...]}`, groups by their best hit.
    private func answer(_ g: GroupRequest, on c: Collection, since start: ContinuousClock.Instant) throws -> Response {
        let lookup = try g.lookup.map { l -> (Collection, PayloadSelector, VectorNaming, VectorNaming.Selection) in
            guard let target = try? db.collection(l.collection) else { throw APIError.notFound("Collection \(l.collection) not found") }
            let naming = VectorNaming(target.config)
            return (target, try PayloadSelector(l.payload, path: "with_lookup.with_payload", default: true), naming,
                    try naming.selection(l.vectors, path: "with_lookup.with_vectors"))
        }
        let q = try g.query.resolvingLookups(db)
        try q.checkOrderIndexes(c.payloadIndexes)
        try q.checkFusionUsing()
        try StrictMode(c)?.check(q)
        if let strict = StrictMode(c) {
            try strict.check(groups: q, groupBy: g.groupBy, groupSize: g.groupSize, indexes: c.payloadIndexes)
            try strict.chargeRead(q, on: c, rateLimits)
        }
        let groups = try c.queryGroups(
            q.engineQuery, groupBy: g.groupBy, groupSize: g.groupSize, groups: q.limit,
            projection: Projection(withVector: q.withVector.any, withPayload: q.payload.wantsPayload))
        var found: [PointID: Record] = [:]
        if let (target, payload, _, vectors) = lookup {
            let ids = groups.compactMap { Self.pointID($0.key) }
            for r in try target.get(ids: ids, projection: Projection(withVector: vectors.any, withPayload: payload.wantsPayload)) {
                found[r.id] = r
            }
        }
        return Envelope.ok(since: start) { w in
            w.beginObject()
            w.key("groups")
            w.beginArray()
            for group in groups {
                w.beginObject()
                w.key("id")
                switch group.key {
                case .string(let s): w.string(s)
                case .integer(let n): w.int(n)
                }
                w.key("hits")
                w.beginArray()
                for hit in group.hits { RecordWriting.scored(hit, payload: q.payload, naming: q.naming, vectors: q.withVector, to: &w) }
                w.endArray()
                if let (_, payload, naming, vectors) = lookup, let id = Self.pointID(group.key), let r = found[id] {
                    w.key("lookup")
                    RecordWriting.record(r, payload: payload, naming: naming, vectors: vectors, to: &w)
                }
                w.endObject()
            }
            w.endArray()
            w.endObject()
        }
    }

    /// The point id a group key names: a non-negative integer, or a UUID string.
    private static func pointID(_ key: GroupKey) -> PointID? {
        switch key {
        case .integer(let n): return n >= 0 ? .integer(UInt64(n)) : nil
        case .string(let s): return UUID(uuidString: s).map { .uuid($0) }
        }
    }
}
