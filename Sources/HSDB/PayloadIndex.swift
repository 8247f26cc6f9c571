import Foundation
import HSDBCore
import Synchronization

/// The kinds of payload field index, as Qdrant's `field_schema`. Frozen raw values (stored in
/// the manifest).
public enum PayloadIndexType: UInt8, Sendable, CaseIterable {
    /// Exact string values (`match` on strings, `matchAny`).
    case keyword = 1
    /// Integer values (`match` on integers, `matchAny`, `range`).
    case integer = 2
    /// Numbers (`range`).
    case float = 3
    /// Booleans (`match` on true or false).
    case bool = 4
    /// UUID strings (`match` and `matchAny` on strings; other strings are not indexed).
    case uuid = 5
    /// RFC 3339 date-times (`datetimeRange`), kept as seconds since the epoch.
    case datetime = 6
    /// Full text: the words of string values (`TextTokens`); `matchText` on the field then
    /// matches words instead of a substring.
    case text = 7
    /// Geo points (`{"lon", "lat"}`), for geo conditions. Declared and reported; the
    /// conditions are answered from the payloads (no geo structure is built yet), so the
    /// answers are the same with or without it.
    case geo = 8
}

/// One segment's index of one payload field: which ordinals hold which values. Built from the
/// segment's payloads the first time a query can use it, then kept with the segment (segments
/// never change, so it never goes stale). Ordinals are all the segment's, live or not: the
/// caller intersects with liveness.
struct FieldIndex: Sendable {
    /// The segment's ordinals.
    let count: Int
    /// False when the index cannot answer at all: an integer index over a field that also
    /// holds non-integer numbers (a range or a match could hold for those, which the index does
    /// not list). Every other value the index leaves out can never satisfy a condition it
    /// answers (a string for a numeric range, an integer for a keyword match).
    private(set) var complete = true
    private var keywords: [String: [Int]] = [:]
    private var flags: [Bool: [Int]] = [:]
    /// (value, ordinal), sorted by value (date-times as seconds since the epoch).
    private var numbers: [(Double, Int)] = []

    init(segment: SegmentHandle, key: String, type: PayloadIndexType) throws {
        count = segment.count
        var complete = true
        var numbers: [(Double, Int)] = []
        var keywords: [String: [Int]] = [:]
        var flags: [Bool: [Int]] = [:]
        do {
            try segment.segment.forEachPayload { o, payload in
                for v in FieldPath.values(key, in: payload) {
                    switch (type, v) {
                    case (.keyword, .string(let s)): keywords[s, default: []].append(o)
                    case (.integer, .int(let i)): numbers.append((Double(i), o))
                    case (.float, .int(let i)): numbers.append((Double(i), o))
                    case (.float, .double(let d)): numbers.append((d, o))
                    case (.bool, .bool(let b)): flags[b, default: []].append(o)
                    case (.text, .string(let s)): for t in Set(TextTokens.words(s)) { keywords[t, default: []].append(o) }
                    case (.uuid, .string(let s)) where UUID(uuidString: s) != nil: keywords[s, default: []].append(o)
                    case (.datetime, .string(let s)):
                        if let t = PayloadDateTime.seconds(s) { numbers.append((t, o)) }
                    case (.integer, .double): complete = false
                    default: break
                    }
                }
            }
        } catch {
            throw HSDBError.wrap(error)
        }
        numbers.sort { $0.0 < $1.0 }
        self.numbers = numbers
        self.keywords = keywords
        self.flags = flags
        self.complete = complete
    }

    /// The candidates of `condition` as a bitmap over the segment's ordinals, and whether
    /// they are exactly the ordinals whose field satisfies it (all but phrases, whose word
    /// order is checked per point); nil if the index cannot answer.
    func bitmap(_ condition: Condition, type: PayloadIndexType) -> (words: [UInt64], exact: Bool)? {
        guard complete else { return nil }
        var words = [UInt64](repeating: 0, count: (count + 63) / 64)
        switch (condition, type) {
        case (.range(_, let r), .integer), (.range(_, let r), .float), (.datetimeRange(_, let r), .datetime):
            words.withUnsafeMutableBufferPointer { w in forEach(in: r) { o in if o < count { w[o >> 6] |= 1 << UInt64(o & 63) } } }
        default:
            guard let ordinals = candidates(condition, type: type) else { return nil }
            for o in ordinals where o < count { words[o >> 6] |= 1 << UInt64(o & 63) }
        }
        var exact = true
        if case .textTokens(_, _, .phrase) = condition { exact = false }
        return (words, exact)
    }

    /// The ordinals whose field satisfies `condition` (more for phrases, whose word order is
    /// checked per point), or nil if this index cannot answer it.
    func candidates(_ condition: Condition, type: PayloadIndexType) -> [Int]? {
        switch (condition, type) {
        // Only UUID strings are in a uuid index: it answers for UUIDs only (others may
        // match strings it does not hold).
        case (.match(_, .string(let s)), .uuid) where UUID(uuidString: s) == nil: return nil
        case (.matchAny(_, let values), .uuid)
            where !values.allSatisfy({ if case .string(let s) = $0 { UUID(uuidString: s) != nil } else { false } }):
            return nil
        case (.match(_, .string(let s)), .keyword), (.match(_, .string(let s)), .uuid): return keywords[s] ?? []
        case (.matchAny(_, let values), .keyword), (.matchAny(_, let values), .uuid):
            guard values.allSatisfy({ if case .string = $0 { return true } else { return false } }) else { return nil }
            return values.flatMap { v -> [Int] in if case .string(let s) = v { return keywords[s] ?? [] } else { return [] } }
        case (.match(_, let v), .integer), (.match(_, let v), .float):
            guard let x = v.number else { return nil }
            return range(NumericRange(gte: x, lte: x))
        case (.matchAny(_, let values), .integer):
            guard values.allSatisfy({ $0.number != nil }) else { return nil }
            return values.flatMap { range(NumericRange(gte: $0.number!, lte: $0.number!)) }
        case (.range(_, let r), .integer), (.range(_, let r), .float), (.datetimeRange(_, let r), .datetime):
            return range(r)
        case (.match(_, .bool(let b)), .bool): return flags[b] ?? []
        // Every token's points (a superset for phrases: the order is checked per point).
        case (.textTokens(_, let tokens, .all), .text), (.textTokens(_, let tokens, .phrase), .text):
            guard let first = tokens.first else { return nil }
            return Array(tokens.dropFirst().reduce(Set(keywords[first] ?? [])) { $0.intersection(keywords[$1] ?? []) })
        case (.textTokens(_, let tokens, .any), .text):
            return tokens.flatMap { keywords[$0] ?? [] }
        default:
            return nil
        }
    }

    private func range(_ r: NumericRange) -> [Int] {
        var out: [Int] = []
        forEach(in: r) { out.append($0) }
        return out
    }

    /// Calls `body` with each ordinal whose value lies in `r`, by value.
    private func forEach(in r: NumericRange, _ body: (Int) -> Void) {
        let lower = r.gte ?? r.gt ?? -.infinity, upper = r.lte ?? r.lt ?? .infinity
        numbers.withUnsafeBufferPointer { n in
            var i = firstIndex { $0 >= lower }
            while i < n.count, n[i].0 <= upper {
                if r.contains(n[i].0) { body(n[i].1) }
                i += 1
            }
        }
    }

    private func firstIndex(_ atLeast: (Double) -> Bool) -> Int {
        var low = 0, high = numbers.count
        while low < high {
            let mid = (low + high) / 2
            if atLeast(numbers[mid].0) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

extension Condition {
    /// The payload key a field condition tests (nil for has_id, nested filters and groups).
    var fieldKey: String? {
        switch self {
        case .match(let k, _), .matchAny(let k, _), .matchExcept(let k, _), .matchText(let k, _), .textTokens(let k, _, _),
            .range(let k, _), .datetimeRange(let k, _),
            .valuesCount(let k, _), .isEmpty(let k), .isNull(let k), .geoRadius(let k, _, _), .geoBox(let k, _, _),
            .geoPolygon(let k, _, _):
            return k
        case .hasID, .hasVector, .nested, .filter: return nil
        }
    }
}
