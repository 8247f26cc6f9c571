import HSDBCore
import QdrantAPI

/// Qdrant's filter messages as the REST API's filter JSON, which the REST decoder then checks.
enum GRPCFilters {
    static func filter(_ f: Qdrant_Filter) throws -> JSONValue {
        var o: [String: JSONValue] = [:]
        if !f.must.isEmpty { o["must"] = .array(try f.must.map(condition)) }
        if !f.should.isEmpty { o["should"] = .array(try f.should.map(condition)) }
        if !f.mustNot.isEmpty { o["must_not"] = .array(try f.mustNot.map(condition)) }
        if f.hasMinShould {
            o["min_should"] = [
                "conditions": .array(try f.minShould.conditions.map(condition)),
                "min_count": .int(Int64(clamping: f.minShould.minCount)),
            ]
        }
        return .object(o)
    }

    /// A request's filter field: absent when the client left it unset.
    static func filter(_ f: Qdrant_Filter, set: Bool) throws -> JSONValue? {
        set ? try filter(f) : nil
    }

    static func condition(_ c: Qdrant_Condition) throws -> JSONValue {
        switch c.conditionOneOf {
        case .field(let f)?: return try field(f)
        case .isEmpty(let e)?: return ["is_empty": ["key": .string(e.key)]]
        case .isNull(let n)?: return ["is_null": ["key": .string(n.key)]]
        case .hasID_p(let h)?: return ["has_id": try GRPCValues.ids(h.hasID_p)]
        case .filter(let f)?: return try filter(f)
        case .nested(let n)?: return ["nested": ["key": .string(n.key), "filter": try filter(n.filter)]]
        case .hasVector_p(let h)?: return ["has_vector": .string(h.hasVector_p)]
        case .slice?: throw GRPCValues.invalid("the `slice` condition is not supported")
        case nil: throw GRPCValues.invalid("a filter condition sets none of its kinds")
        }
    }

    static func field(_ f: Qdrant_FieldCondition) throws -> JSONValue {
        var o: [String: JSONValue] = ["key": .string(f.key)]
        if f.hasMatch { o["match"] = try match(f.match) }
        if f.hasRange { o["range"] = range(f.range) }
        if f.hasDatetimeRange { o["range"] = datetimeRange(f.datetimeRange) }
        if f.hasGeoBoundingBox {
            o["geo_bounding_box"] = ["top_left": point(f.geoBoundingBox.topLeft), "bottom_right": point(f.geoBoundingBox.bottomRight)]
        }
        if f.hasGeoRadius { o["geo_radius"] = ["center": point(f.geoRadius.center), "radius": .double(Double(f.geoRadius.radius))] }
        if f.hasGeoPolygon {
            o["geo_polygon"] = [
                "exterior": line(f.geoPolygon.exterior), "interiors": .array(f.geoPolygon.interiors.map(line)),
            ]
        }
        if f.hasValuesCount { o["values_count"] = valuesCount(f.valuesCount) }
        if f.hasIsEmpty { o["is_empty"] = .bool(f.isEmpty) }
        if f.hasIsNull { o["is_null"] = .bool(f.isNull) }
        return .object(o)
    }

    static func match(_ m: Qdrant_Match) throws -> JSONValue {
        switch m.matchValue {
        case .keyword(let s)?: ["value": .string(s)]
        case .integer(let n)?: ["value": .int(n)]
        case .boolean(let b)?: ["value": .bool(b)]
        case .text(let s)?: ["text": .string(s)]
        case .keywords(let k)?: ["any": .array(k.strings.map(JSONValue.string))]
        case .integers(let n)?: ["any": .array(n.integers.map(JSONValue.int))]
        case .exceptKeywords(let k)?: ["except": .array(k.strings.map(JSONValue.string))]
        case .exceptIntegers(let n)?: ["except": .array(n.integers.map(JSONValue.int))]
        case .phrase(let s)?: ["phrase": .string(s)]
        case .textAny(let s)?: ["text_any": .string(s)]
        case .prefix(let s)?: ["prefix": .string(s)]
        case nil: throw GRPCValues.invalid("a `match` sets none of its kinds")
        }
    }

    static func range(_ r: Qdrant_Range) -> JSONValue {
        var o: [String: JSONValue] = [:]
        if r.hasLt { o["lt"] = .double(r.lt) }
        if r.hasGt { o["gt"] = .double(r.gt) }
        if r.hasGte { o["gte"] = .double(r.gte) }
        if r.hasLte { o["lte"] = .double(r.lte) }
        return .object(o)
    }

    static func datetimeRange(_ r: Qdrant_DatetimeRange) -> JSONValue {
        var o: [String: JSONValue] = [:]
        if r.hasLt { o["lt"] = GRPCValues.datetime(r.lt) }
        if r.hasGt { o["gt"] = GRPCValues.datetime(r.gt) }
        if r.hasGte { o["gte"] = GRPCValues.datetime(r.gte) }
        if r.hasLte { o["lte"] = GRPCValues.datetime(r.lte) }
        return .object(o)
    }

    static func valuesCount(_ r: Qdrant_ValuesCount) -> JSONValue {
        var o: [String: JSONValue] = [:]
        if r.hasLt { o["lt"] = .int(Int64(clamping: r.lt)) }
        if r.hasGt { o["gt"] = .int(Int64(clamping: r.gt)) }
        if r.hasGte { o["gte"] = .int(Int64(clamping: r.gte)) }
        if r.hasLte { o["lte"] = .int(Int64(clamping: r.lte)) }
        return .object(o)
    }

    static func point(_ p: Qdrant_GeoPoint) -> JSONValue { ["lon": .double(p.lon), "lat": .double(p.lat)] }

    static func line(_ l: Qdrant_GeoLineString) -> JSONValue { ["points": .array(l.points.map(point))] }
}
