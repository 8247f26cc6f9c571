import HSDB
import HSDBCore

/// What strict mode asks of a filter: the fields it conditions on that no index serves (with
/// the index types that would, named as Qdrant names them), how many conditions it has, and
/// its largest condition.
enum StrictModeFilter {
    /// The first condition's key no index serves, with the types that would; nil when all are.
    static func unindexed(_ filter: Filter, indexes: [String: PayloadIndexType], prefix: String = "") -> (String, [String])? {
        for c in conditions(of: filter) {
            switch c {
            case .filter(let f):
                if let found = unindexed(f, indexes: indexes, prefix: prefix) { return found }
            case .nested(let key, let f):
                if let found = unindexed(f, indexes: indexes, prefix: prefix + key + "[].") { return found }
            default:
                guard let (key, types) = needs(c) else { continue }
                let full = prefix + key
                if let have = indexes[full], types.contains(have) { continue }
                return (full, types.map(CollectionSpec.schemaName).sorted())
            }
        }
        return nil
    }

    /// The key a condition reads and the index types that serve it (nil: it needs none).
    static func needs(_ c: Condition) -> (String, [PayloadIndexType])? {
        switch c {
        case .match(let key, let value): return (key, types(of: [value]))
        case .matchAny(let key, let values), .matchExcept(let key, let values):
            return values.isEmpty ? nil : (key, types(of: values))  // an empty list is a no-op (Qdrant)
        case .matchText(let key, _), .textTokens(let key, _, _): return (key, [.text])
        case .range(let key, _): return (key, [.integer, .float])
        case .datetimeRange(let key, _): return (key, [.datetime])
        case .geoRadius(let key, _, _), .geoBox(let key, _, _), .geoPolygon(let key, _, _): return (key, [.geo])
        case .valuesCount, .isEmpty, .isNull, .hasID, .hasVector, .nested, .filter: return nil
        }
    }

    private static func types(of values: [JSONValue]) -> [PayloadIndexType] {
        switch values.first {
        case .int?: return [.integer]
        case .bool?: return [.bool]
        default: return [.keyword, .uuid]
        }
    }

    /// Every condition of the filter's clauses (not inside nested filters).
    static func conditions(of f: Filter) -> [Condition] { f.must + f.should + f.mustNot + (f.minShould?.conditions ?? []) }

    /// Leaf conditions, nested filters included (Qdrant's `total_conditions_count`).
    static func conditionCount(_ f: Filter) -> Int {
        conditions(of: f).reduce(0) { n, c in
            switch c {
            case .filter(let inner), .nested(_, let inner): return n + conditionCount(inner)
            default: return n + 1
            }
        }
    }

    /// The most values one condition carries (any of, except, ids, polygon points).
    static func largestCondition(_ f: Filter) -> Int {
        conditions(of: f).map { c in
            switch c {
            case .filter(let inner), .nested(_, let inner): return largestCondition(inner)
            case .matchAny(_, let values), .matchExcept(_, let values): return values.count
            case .hasID(let ids): return ids.count
            case .geoPolygon(_, let exterior, let interiors): return exterior.count + interiors.reduce(0) { $0 + $1.count }
            default: return 1
            }
        }.max() ?? 0
    }
}
