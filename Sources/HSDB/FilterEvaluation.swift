import HSDBCore

extension Filter {
    /// Whether the point with `id` and `payload` satisfies the filter. `has` says whether the
    /// point carries a vector (nil: the dense one, else a sparse one by name), for `hasVector`;
    /// by default it carries every vector (for filters without that condition).
    public func matches(id: PointID, payload: Payload, has: (String?) -> Bool = { _ in true }) -> Bool {
        for c in must where !c.holds(id: id, payload: payload, has) { return false }
        for c in mustNot where c.holds(id: id, payload: payload, has) { return false }
        if !should.isEmpty && !should.contains(where: { $0.holds(id: id, payload: payload, has) }) { return false }
        if let m = minShould, m.conditions.filter({ $0.holds(id: id, payload: payload, has) }).count < m.minCount { return false }
        return true
    }

    /// Whether the filter can be decided from the id alone (only `has_id` conditions), so
    /// payloads need not be read.
    var needsPayload: Bool {
        func needs(_ c: Condition) -> Bool {
            switch c {
            case .hasID: return false
            case .filter(let f): return f.needsPayload
            default: return true
            }
        }
        return (must + should + mustNot + (minShould?.conditions ?? [])).contains(where: needs)
    }
}

extension Condition {
    func holds(id: PointID, payload: Payload, _ has: (String?) -> Bool) -> Bool {
        switch self {
        case .match(let key, let value):
            return FieldPath.values(key, in: payload).contains { $0.matches(value) }
        case .matchAny(let key, let values):
            return FieldPath.values(key, in: payload).contains { v in values.contains { v.matches($0) } }
        case .matchExcept(let key, let values):
            return FieldPath.values(key, in: payload).contains { v in !values.contains { v.matches($0) } }
        case .matchText(let key, let text):
            return FieldPath.values(key, in: payload).contains { if case .string(let s) = $0 { return s.contains(text) } else { return false } }
        case .textTokens(let key, let tokens, let mode):
            return FieldPath.values(key, in: payload).contains {
                if case .string(let s) = $0 { return TextTokens.matches(TextTokens.words(s), tokens, mode) } else { return false }
            }
        case .range(let key, let range):
            return FieldPath.values(key, in: payload).contains { $0.number.map(range.contains) ?? false }
        case .datetimeRange(let key, let range):
            return FieldPath.values(key, in: payload).contains { v in
                if case .string(let s) = v, let t = PayloadDateTime.seconds(s) { return range.contains(t) }
                return false
            }
        case .valuesCount(let key, let range):
            return range.contains(Double(FieldPath.values(key, in: payload).count))
        case .isEmpty(let key):
            return FieldPath.values(key, in: payload).allSatisfy { $0 == .null }
        case .isNull(let key):
            return FieldPath.raw(key, in: payload).contains { $0 == .null }
        case .geoRadius(let key, let center, let meters):
            return GeoPoint.all(FieldPath.values(key, in: payload)).contains { $0.meters(to: center) <= meters }
        case .geoBox(let key, let topLeft, let bottomRight):
            return GeoPoint.all(FieldPath.values(key, in: payload)).contains { $0.isInBox(topLeft: topLeft, bottomRight: bottomRight) }
        case .geoPolygon(let key, let exterior, let interiors):
            return GeoPoint.all(FieldPath.values(key, in: payload)).contains { p in
                p.isInRing(exterior) && !interiors.contains { p.isInRing($0) }
            }
        case .hasID(let ids):
            return ids.contains(id)
        case .hasVector(let name):
            return has(name)
        case .nested(let key, let filter):
            return FieldPath.values(key, in: payload).contains { v in
                if case .object(let o) = v { return filter.matches(id: id, payload: o, has: has) }
                return false
            }
        case .filter(let filter):
            return filter.matches(id: id, payload: payload, has: has)
        }
    }
}

/// Key-path lookup into payloads (`PayloadPath`: `a.b`, `a[].b`, `a[0]`).
enum FieldPath {
    /// The values at `key`, with a final array entered: `a[].b` on
    /// `{"a": [{"b": 1}, {"b": [2, 3]}]}` gives 1, 2, 3. A plain dot does not enter an array.
    static func values(_ key: String, in payload: Payload) -> [JSONValue] {
        raw(key, in: payload).flatMap { v -> [JSONValue] in
            if case .array(let a) = v { return a } else { return [v] }
        }
    }

    /// The values at `key` as stored (a final array is one value).
    static func raw(_ key: String, in payload: Payload) -> [JSONValue] {
        PayloadPath(key).values(in: payload)
    }
}

extension JSONValue {
    /// Equality for matching: integers and doubles compare by value.
    func matches(_ other: JSONValue) -> Bool {
        if let a = number, let b = other.number { return a == b }
        return self == other
    }

    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
}
