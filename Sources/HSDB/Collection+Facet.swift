import Foundation
import HSDBCore

/// One value of a facet and how many points hold it.
public struct FacetHit: Sendable, Equatable {
    public let value: JSONValue
    public let count: Int
}

extension Collection {
    /// Qdrant's facet: the values of `key` among the live points matching `filter`, each with
    /// the number of points holding it (a point with a value twice counts once), most common
    /// first, ties by value ascending; at most `limit`. Values count as `type` indexes them
    /// (keyword: strings, integer: integers, uuid: UUID strings, bool: booleans); the caller
    /// checks that `key` has such an index, as Qdrant asks. Exact: every matching payload is
    /// read once.
    public func facet(_ key: String, type: PayloadIndexType, filter: Filter?, limit: Int) throws -> [FacetHit] {
        let path = PayloadPath(key)
        var counts: [JSONValue: Int] = [:]
        var offset: PointID?
        let s = snapshot
        let filter = filter.map(resolved)
        repeat {
            let page = try scroll(in: s, from: offset, limit: 4096, projection: .payloadOnly, filter: filter)
            for r in page.points {
                for v in Set(Self.facetValues(path.values(in: r.payload ?? [:]), type)) { counts[v, default: 0] += 1 }
            }
            offset = page.nextOffset
        } while offset != nil
        return counts.map { FacetHit(value: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : Self.facetOrder($0.value, $1.value) }
            .prefix(max(limit, 0)).map { $0 }
    }

    /// The values an index of `type` takes from `values` (an array's elements one by one).
    private static func facetValues(_ values: [JSONValue], _ type: PayloadIndexType) -> [JSONValue] {
        values.flatMap { v -> [JSONValue] in if case .array(let items) = v { return items } else { return [v] } }.filter { v in
            switch (type, v) {
            case (.keyword, .string), (.integer, .int), (.bool, .bool): return true
            case (.uuid, .string(let s)): return UUID(uuidString: s) != nil
            default: return false
            }
        }
    }

    /// How facet values of equal counts are ordered (a sharded collection merges by it too).
    public static func facetOrder(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x < y
        case (.int(let x), .int(let y)): return x < y
        case (.bool(let x), .bool(let y)): return !x && y
        default: return "\(a)" < "\(b)"
        }
    }
}
