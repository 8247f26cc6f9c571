import Foundation
import HSDB
import HSDBCore

/// What strict mode asks of a filter: the fields it conditions on that no index serves (with
/// the index types that would, named as Qdrant names them), how many conditions it has, and
/// its largest condition. Which index serves which condition follows Qdrant's
/// `unindexed_field.rs`: each condition needs one of some capabilities, each index has some.
enum StrictModeFilter {
    /// What an index can answer (Qdrant's `FieldIndexType`).
    enum Capability: CaseIterable, Hashable {
        case intMatch, intRange, keywordMatch, floatRange, text, textPhrase, boolMatch, uuidMatch, uuidRange, datetimeRange, geo

        /// The index Qdrant names in its refusal for this capability.
        var schemaName: String {
            switch self {
            case .intMatch, .intRange: "integer"
            case .keywordMatch: "keyword"
            case .floatRange: "float"
            case .text: "text"
            case .textPhrase: "text (with phrase_matching: true)"
            case .boolMatch: "bool"
            case .uuidMatch, .uuidRange: "uuid"
            case .datetimeRange: "datetime"
            case .geo: "geo"
            }
        }
    }

    /// What each indexed field's index can answer.
    typealias Schema = [String: Set<Capability>]

    /// The capabilities of an index of `type` created with `params` (the object form of its
    /// `field_schema`): an integer index may leave out `lookup` or `range`, a text index
    /// answers phrases only with `phrase_matching`.
    static func capabilities(_ type: PayloadIndexType, params: Payload) -> Set<Capability> {
        switch type {
        case .keyword: return [.keywordMatch]
        case .integer:
            var out: Set<Capability> = []
            if params["lookup"] != .bool(false) { out.insert(.intMatch) }
            if params["range"] != .bool(false) { out.insert(.intRange) }
            return out
        case .float: return [.floatRange]
        case .bool: return [.boolMatch]
        case .uuid: return [.uuidMatch, .uuidRange]
        case .datetime: return [.datetimeRange]
        case .text: return params["phrase_matching"] == .bool(true) ? [.text, .textPhrase] : [.text]
        case .geo: return [.geo]
        }
    }

    /// The first condition's key no index serves, with the types that would; nil when all are.
    static func unindexed(_ filter: Filter, schema: Schema, prefix: String = "") -> (String, [String])? {
        for c in conditions(of: filter) {
            switch c {
            case .filter(let f):
                if let found = unindexed(f, schema: schema, prefix: prefix) { return found }
            case .nested(let key, let f):
                if let found = unindexed(f, schema: schema, prefix: prefix + key + "[].") { return found }
            default:
                guard let (key, wanted) = needs(c) else { continue }
                let full = prefix + key
                if let have = schema[full], !have.isDisjoint(with: wanted) { continue }
                return (full, Array(Set(wanted.map(\.schemaName))).sorted())
            }
        }
        return nil
    }

    /// The key a condition reads and the capabilities that serve it (nil: it needs none, as
    /// an empty `any` or `except`, which matches nothing or excludes nothing).
    static func needs(_ c: Condition) -> (String, [Capability])? {
        switch c {
        case .match(let key, let value): return (key, matching([value]))
        case .matchAny(let key, let values), .matchExcept(let key, let values):
            return values.isEmpty ? nil : (key, matching(values))
        case .matchText(let key, _): return (key, [.text])
        case .textTokens(let key, _, let mode): return (key, mode == .phrase ? [.textPhrase] : [.text])
        case .range(let key, _): return (key, [.floatRange, .intRange])
        case .datetimeRange(let key, _): return (key, [.datetimeRange])
        case .geoRadius(let key, _, _), .geoBox(let key, _, _), .geoPolygon(let key, _, _): return (key, [.geo])
        // Any index will do: each keeps a null index beside it.
        case .valuesCount(let key, _), .isEmpty(let key), .isNull(let key): return (key, Capability.allCases)
        case .hasID, .hasVector, .nested, .filter: return nil
        }
    }

    /// Strings need a keyword index, or a uuid one when every string is a UUID.
    private static func matching(_ values: [JSONValue]) -> [Capability] {
        switch values.first {
        case .int?, .double?: return [.intMatch]
        case .bool?: return [.boolMatch]
        default:
            let uuids = values.allSatisfy { if case .string(let s) = $0 { isUUID(s) } else { false } }
            return uuids ? [.uuidMatch, .keywordMatch] : [.keywordMatch]
        }
    }

    /// Hyphenated or 32 hex digits, the forms Qdrant's UUID parser takes.
    private static func isUUID(_ s: String) -> Bool {
        if UUID(uuidString: s) != nil { return true }
        return s.utf8.count == 32 && s.utf8.allSatisfy { $0.isHexDigit }
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

extension UInt8 {
    fileprivate var isHexDigit: Bool { (48...57).contains(self) || (65...70).contains(self) || (97...102).contains(self) }
}
