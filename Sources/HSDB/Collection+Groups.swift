import HSDBCore

/// The value points are grouped by: a string or an integer of the `group_by` field (Qdrant
/// groups by keyword and integer values only).
public enum GroupKey: Hashable, Sendable {
    case string(String)
    case integer(Int64)

    /// The keys a payload gives under `path`: each string or integer value, an array's
    /// elements one by one (a point in several groups); other values give none.
    static func keys(of payload: Payload, at path: PayloadPath) -> [GroupKey] {
        var out: [GroupKey] = []
        func add(_ v: JSONValue, nested: Bool) {
            switch v {
            case .string(let s): out.append(.string(s))
            case .int(let n): out.append(.integer(n))
            case .array(let items) where !nested: for item in items { add(item, nested: true) }
            default: break
            }
        }
        for v in path.values(in: payload) { add(v, nested: false) }
        var seen = Set<GroupKey>()
        return out.filter { seen.insert($0).inserted }
    }
}

/// One group of a grouped query: its key and its best hits, best first.
public struct PointGroup: Sendable, Equatable {
    public let key: GroupKey
    public let hits: [ScoredPoint]
}

extension Collection {
    /// The best `groups` groups of `q`'s hits by the value of `groupBy` (Qdrant's groups
    /// API), each with up to `groupSize` hits, groups ordered by their best hit. Points
    /// without a string or integer value there belong to no group; a point with several
    /// values belongs to each. `q.limit` and `q.offset` are ignored: the query is run with a
    /// growing limit until every group is full, or the hits run out.
    public func queryGroups(
        _ q: Query, groupBy: String, groupSize: Int, groups: Int, projection: Projection = .payloadOnly
    ) throws -> [PointGroup] {
        guard groups > 0, groupSize > 0 else { return [] }
        let path = PayloadPath(groupBy)
        var query = q
        query.offset = 0
        query.limit = min(groups * groupSize * 4, Self.maxGroupCandidates)
        let reading = Projection(withVector: projection.withVector, withPayload: true)
        while true {
            let hits = try self.query(query, projection: reading)
            let found = Self.group(hits, by: path, groupSize: groupSize, groups: groups)
            let full = found.count == groups && found.allSatisfy { $0.hits.count == groupSize }
            if full || hits.count < query.limit || query.limit >= Self.maxGroupCandidates {
                return projection.withPayload ? found : found.map { g in PointGroup(key: g.key, hits: g.hits.map(\.withoutPayload)) }
            }
            query.limit = min(query.limit * 4, Self.maxGroupCandidates)
        }
    }

    /// Hits a grouped query reads at most.
    static let maxGroupCandidates = 100_000

    /// The hits, best first, into groups in order of their best hit.
    static func group(_ hits: [ScoredPoint], by path: PayloadPath, groupSize: Int, groups: Int) -> [PointGroup] {
        var order: [GroupKey] = []
        var members: [GroupKey: [ScoredPoint]] = [:]
        for hit in hits {
            for key in GroupKey.keys(of: hit.payload ?? [:], at: path) {
                if members[key] == nil {
                    guard order.count < groups else { continue }
                    order.append(key)
                }
                if members[key, default: []].count < groupSize { members[key, default: []].append(hit) }
            }
        }
        return order.map { PointGroup(key: $0, hits: members[$0]!) }
    }
}

extension ScoredPoint {
    var withoutPayload: ScoredPoint {
        ScoredPoint(id: id, version: version, score: score, vector: vector, sparse: sparse, payload: nil, named: named)
    }
}
