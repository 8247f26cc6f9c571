import HSDB
import HSDBCore

/// Exact merges of the shards' answers into the answer one collection would give (DESIGN.md,
/// "Shards: reads"): a global top-k by score, scroll pages by id, sums of counts.
enum ShardMerge {
    /// The best `limit` of the shards' scored points after skipping `offset`: by score,
    /// descending unless `ascending` (distances), ties by id as one collection orders them.
    static func scored(_ lists: [[JSONValue]], limit: Int, offset: Int, ascending: Bool) -> [JSONValue] {
        let all = lists.flatMap { $0 }.map { (score: score(of: $0), id: id(of: $0), point: $0) }
        let sorted = all.sorted { a, b in
            if a.score != b.score { return ascending ? a.score < b.score : a.score > b.score }
            return order(a.id, b.id)
        }
        return Array(sorted.dropFirst(offset).prefix(limit).map(\.point))
    }

    /// One scroll page of `limit` from the shards' pages of `limit` each (all from the same
    /// offset): the first `limit` ids of their union; the next page starts at the smallest id
    /// not returned, among the pages' leftovers and the shards' own next offsets.
    static func scroll(_ pages: [(points: [JSONValue], next: JSONValue?)], limit: Int) -> (points: [JSONValue], next: JSONValue?) {
        let all = pages.flatMap(\.points).sorted { order(id(of: $0), id(of: $1)) }
        let page = Array(all.prefix(limit))
        var rest: [JSONValue] = all.dropFirst(limit).compactMap { id(of: $0) }
        rest += pages.compactMap(\.next).filter { $0 != .null }
        return (page, rest.min { order($0, $1) })
    }

    /// The shards' facet hits (`{"value", "count"}`, every value each) summed per value, by
    /// count descending, then value as one collection orders them; the first `limit`.
    static func facets(_ lists: [[JSONValue]], limit: Int) -> [JSONValue] {
        var counts: [String: (value: JSONValue, count: Int64)] = [:]
        for hit in lists.joined() {
            guard case .object(let o) = hit, let value = o["value"] else { continue }
            counts["\(value)", default: (value, 0)].count += int(hit, "count")
        }
        let sorted = counts.values.sorted { $0.count != $1.count ? $0.count > $1.count : Collection.facetOrder($0.value, $1.value) }
        return sorted.prefix(limit).map { .object(["value": $0.value, "count": .int($0.count)]) }
    }

    /// Orders point ids as one collection does: integers first, numerically; then UUIDs,
    /// whose lowercase text orders as their bytes.
    static func order(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        switch (a, b) {
        case (.int(let x)?, .int(let y)?): return x < y
        case (.int?, _): return true
        case (_, .int?): return false
        case (.string(let x)?, .string(let y)?): return x.lowercased() < y.lowercased()
        default: return false
        }
    }

    static func id(of point: JSONValue) -> JSONValue? {
        guard case .object(let o) = point else { return nil }
        return o["id"]
    }

    static func score(of point: JSONValue) -> Double {
        guard case .object(let o) = point else { return 0 }
        switch o["score"] {
        case .double(let d)?: return d
        case .int(let i)?: return Double(i)
        default: return 0
        }
    }

    /// The integer `key` of an object answer (0 when absent).
    static func int(_ value: JSONValue, _ key: String) -> Int64 {
        guard case .object(let o) = value, case .int(let n)? = o[key] else { return 0 }
        return n
    }
}
