import HSDB
import HSDBCore

/// Qdrant's filter grammar (`must`, `should`, `must_not`, `min_should`, and the conditions
/// match value/any/except/text, range, values_count, is_empty, is_null, has_id, has_vector,
/// geo radius, bounding box and polygon, nested, and filters as conditions) into the engine's
/// `Filter`. A range with datetime strings for bounds is Qdrant's datetime range.
enum FilterDecoding {
    static let maxDepth = 16

    static func filter(_ value: JSONValue, path: String, depth: Int = 0) throws -> Filter {
        guard depth < maxDepth else { throw APIError.wrongInput("\(path): filters nest deeper than \(maxDepth) levels") }
        let f = try JSONFields(value, path: path)
        for key in f.values.keys where !["must", "should", "must_not", "min_should"].contains(key) {
            throw APIError.format("\(path): unknown filter clause `\(key)` (expected must, should, must_not or min_should)")
        }
        var filter = Filter()
        filter.must = try clause(f, "must", depth: depth)
        filter.should = try clause(f, "should", depth: depth)
        filter.mustNot = try clause(f, "must_not", depth: depth)
        if let minShould = try f.object("min_should") {
            let conditions = try clause(minShould, "conditions", depth: depth)
            guard let minCount = try minShould.count("min_count") else { throw APIError.format("\(path).min_should: missing field `min_count`") }
            filter.minShould = Filter.MinShould(conditions: conditions, minCount: minCount)
        }
        return filter
    }

    /// A clause holds a list of conditions or a single one.
    private static func clause(_ f: JSONFields, _ key: String, depth: Int) throws -> [Condition] {
        guard let v = f[key] else { return [] }
        let path = f.fieldPath(key)
        if case .array(let items) = v {
            var conditions: [Condition] = []
            for (i, item) in items.enumerated() { conditions.append(try condition(item, path: "\(path)[\(i)]", depth: depth)) }
            return conditions
        }
        return [try condition(v, path: path, depth: depth)]
    }

    static func condition(_ value: JSONValue, path: String, depth: Int) throws -> Condition {
        let c = try JSONFields(value, path: path)
        if let ids = c["has_id"] { return .hasID(try PointDecoding.ids(ids, path: "\(path).has_id", limit: 1_000_000)) }
        if let name = c["has_vector"] {
            guard case .string(let s) = name else { throw JSONFields.typeError("\(path).has_vector", "a vector name", name) }
            return .hasVector(s)  // the collection resolves the name (Collection.resolved)
        }
        if let nested = try c.object("nested") {
            guard let key = try nested.string("key") else { throw APIError.format("\(path).nested: missing field `key`") }
            guard let inner = nested["filter"] else { throw APIError.format("\(path).nested: missing field `filter`") }
            return .nested(key: key, filter: try filter(inner, path: "\(path).nested.filter", depth: depth + 1))
        }
        if let isEmpty = c["is_empty"], case .object = isEmpty {
            guard let key = try JSONFields(isEmpty, path: "\(path).is_empty").string("key") else { throw APIError.format("\(path).is_empty: missing field `key`") }
            return .isEmpty(key: key)
        }
        if let isNull = c["is_null"], case .object = isNull {
            guard let key = try JSONFields(isNull, path: "\(path).is_null").string("key") else { throw APIError.format("\(path).is_null: missing field `key`") }
            return .isNull(key: key)
        }
        if ["must", "should", "must_not", "min_should"].contains(where: { c.values[$0] != nil }) {
            return .filter(try filter(value, path: path, depth: depth + 1))
        }
        guard let key = try c.string("key") else {
            let given = c.values.keys.sorted().joined(separator: ", ")
            throw APIError.format("\(path): not a condition (fields: \(given)); expected `key` with match/range/values_count/is_empty/is_null, or has_id, nested, is_empty, is_null, or a filter")
        }
        if let geo = try geoCondition(key: key, c, path: path) { return geo }
        if let match = try c.object("match") { return try matchCondition(key: key, match) }
        if let range = try c.object("range") {
            if let datetimes = try datetimeRange(range) { return .datetimeRange(key: key, datetimes) }
            return .range(key: key, try numericRange(range))
        }
        if let count = try c.object("values_count") { return .valuesCount(key: key, try numericRange(count)) }
        if let isEmpty = try c.bool("is_empty") {
            return isEmpty ? .isEmpty(key: key) : .filter(Filter(mustNot: [.isEmpty(key: key)]))
        }
        if let isNull = try c.bool("is_null") {
            return isNull ? .isNull(key: key) : .filter(Filter(mustNot: [.isNull(key: key)]))
        }
        // Qdrant 1.19 validates this (422), it does not refuse the format.
        throw APIError.validation("\(path).condition_one_of", "At least one field condition must be specified")
    }

    /// `geo_radius` (`center`, `radius` in meters), `geo_bounding_box` (`top_left`,
    /// `bottom_right`), `geo_polygon` (`exterior` and `interiors`, rings `{"points": [...]}`
    /// of at least 4 points, closed: Qdrant's 422 otherwise).
    private static func geoCondition(key: String, _ c: JSONFields, path: String) throws -> Condition? {
        if let r = try c.object("geo_radius") {
            guard let radius = try r.number("radius") else { throw APIError.format("\(r.path): missing field `radius`") }
            return .geoRadius(key: key, center: try geoPoint(r, "center"), meters: radius)
        }
        if let b = try c.object("geo_bounding_box") {
            return .geoBox(key: key, topLeft: try geoPoint(b, "top_left"), bottomRight: try geoPoint(b, "bottom_right"))
        }
        guard let p = try c.object("geo_polygon") else { return nil }
        guard let exterior = try p.object("exterior") else { throw APIError.format("\(p.path): missing field `exterior`") }
        let interiors = try (try p.array("interiors") ?? []).enumerated().map { i, v in
            try ring(try JSONFields(v, path: p.fieldPath("interiors[\(i)]")))
        }
        return .geoPolygon(key: key, exterior: try ring(exterior), interiors: interiors)
    }

    private static func ring(_ r: JSONFields) throws -> [GeoPoint] {
        guard let list = try r.array("points") else { throw APIError.format("\(r.path): missing field `points`") }
        let points = try list.enumerated().map { i, v in try geoPoint(JSONFields(.object(["p": v]), path: r.fieldPath("points[\(i)]")), "p") }
        guard points.count >= 4 else { throw APIError.validation(r.path, "polygon invalid, the size must be at least 4") }
        guard points.first == points.last else {
            throw APIError.validation(r.path, "polygon invalid, the first and the last points should be same to form a closed line")
        }
        return points
    }

    /// `{"lon", "lat"}` in degrees, within [-180, 180] and [-90, 90].
    static func geoPoint(_ parent: JSONFields, _ field: String) throws -> GeoPoint {
        guard let p = try parent.object(field) else { throw APIError.format("\(parent.path): missing field `\(field)`") }
        guard let lon = try p.number("lon"), let lat = try p.number("lat") else { throw APIError.format("\(p.path): expected `lon` and `lat`") }
        guard (-180...180).contains(lon), (-90...90).contains(lat) else {
            throw APIError.validation(p.path, "Wrong input: lon \(lon), lat \(lat) out of range (lon -180 to 180, lat -90 to 90)")
        }
        return GeoPoint(lon: lon, lat: lat)
    }

    private static func matchCondition(key: String, _ m: JSONFields) throws -> Condition {
        if let v = m["value"] {
            switch v {
            case .string, .int, .bool: return .match(key: key, value: v)
            default: throw JSONFields.typeError(m.fieldPath("value"), "a string, integer or boolean", v)
            }
        }
        if let values = try m.array("any") { return .matchAny(key: key, values: try matchValues(values, path: m.fieldPath("any"))) }
        if let values = try m.array("except") { return .matchExcept(key: key, values: try matchValues(values, path: m.fieldPath("except"))) }
        if let text = try m.string("text") { return .matchText(key: key, text: text) }
        if let text = try m.string("text_any") { return .textTokens(key: key, tokens: TextTokens.words(text), mode: .any) }
        if let text = try m.string("phrase") { return .textTokens(key: key, tokens: TextTokens.words(text), mode: .phrase) }
        throw APIError.format("\(m.path): expected one of value, any, except, text, text_any, phrase")
    }

    private static func matchValues(_ values: [JSONValue], path: String) throws -> [JSONValue] {
        for (i, v) in values.enumerated() {
            switch v {
            case .string, .int: continue
            default: throw JSONFields.typeError("\(path)[\(i)]", "a string or integer", v)
            }
        }
        return values
    }

    /// A range whose bounds are datetime strings (Qdrant's `DatetimeRange`), as seconds since
    /// the epoch; nil when no bound is a string. Numbers and datetimes do not mix.
    private static func datetimeRange(_ r: JSONFields) throws -> NumericRange? {
        let bounds = ["gt", "gte", "lt", "lte"]
        guard bounds.contains(where: { if case .string = r[$0] { true } else { false } }) else { return nil }
        for key in r.values.keys where !bounds.contains(key) {
            throw APIError.format("\(r.path): unknown bound `\(key)` (expected gt, gte, lt, lte)")
        }
        var seconds: [String: Double] = [:]
        for key in bounds {
            switch r[key] {
            case nil: continue
            case .string(let text)?:
                guard let t = PayloadDateTime.seconds(text) else {
                    throw APIError.format("\(r.fieldPath(key)): '\(text)' is not a datetime (expected RFC 3339, e.g. 2023-02-08T10:49:00Z)")
                }
                seconds[key] = t
            case let other?:
                throw JSONFields.typeError(r.fieldPath(key), "a datetime string, as the range's other bounds", other)
            }
        }
        return NumericRange(gt: seconds["gt"], gte: seconds["gte"], lt: seconds["lt"], lte: seconds["lte"])
    }

    private static func numericRange(_ r: JSONFields) throws -> NumericRange {
        for key in r.values.keys where !["gt", "gte", "lt", "lte"].contains(key) {
            throw APIError.format("\(r.path): unknown bound `\(key)` (expected gt, gte, lt, lte)")
        }
        return NumericRange(gt: try r.number("gt"), gte: try r.number("gte"), lt: try r.number("lt"), lte: try r.number("lte"))
    }
}
