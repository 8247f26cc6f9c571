import HSDBCore

/// A condition on points, as Qdrant's filters express them: every `must` condition holds,
/// at least one `should` condition holds (when there are any), no `mustNot` condition holds,
/// and at least `minShould.minCount` of `minShould.conditions` hold.
public struct Filter: Sendable, Equatable {
    public var must: [Condition]
    public var should: [Condition]
    public var mustNot: [Condition]
    public var minShould: MinShould?

    public struct MinShould: Sendable, Equatable {
        public var conditions: [Condition]
        public var minCount: Int
        public init(conditions: [Condition], minCount: Int) {
            self.conditions = conditions
            self.minCount = minCount
        }
    }

    public init(must: [Condition] = [], should: [Condition] = [], mustNot: [Condition] = [], minShould: MinShould? = nil) {
        self.must = must
        self.should = should
        self.mustNot = mustNot
        self.minShould = minShould
    }
}

/// One condition of a filter. Keys are dotted paths into the payload (`metadata.source`;
/// `a[].b` is accepted and means the same as `a.b`): arrays met on the way are entered, and a
/// condition on a field holds when any of its values satisfies it.
public indirect enum Condition: Sendable, Equatable {
    /// A value equals this one (string, integer, boolean; integers and whole doubles compare equal).
    case match(key: String, value: JSONValue)
    /// A value is one of these.
    case matchAny(key: String, values: [JSONValue])
    /// A value is none of these (a point without the field does not match).
    case matchExcept(key: String, values: [JSONValue])
    /// A string value contains this text; on a field with a `text` payload index, every one
    /// of its words (`TextTokens`) is among the value's words instead, as in Qdrant.
    case matchText(key: String, text: String)
    /// A string value's words (`TextTokens.words`) hold these tokens as `mode` says.
    case textTokens(key: String, tokens: [String], mode: TextMatchMode)
    /// A number value lies in the range.
    case range(key: String, NumericRange)
    /// A string value that is a datetime (`PayloadDateTime`) lies in the range, whose bounds
    /// are seconds since the Unix epoch.
    case datetimeRange(key: String, NumericRange)
    /// The number of values (array elements count one each) lies in the range.
    case valuesCount(key: String, NumericRange)
    /// The field is missing, null, or an empty array.
    case isEmpty(key: String)
    /// The field is null.
    case isNull(key: String)
    /// The point's id is one of these.
    /// A geo point of the field within `meters` of `center` (haversine, mean Earth radius).
    case geoRadius(key: String, center: GeoPoint, meters: Double)
    /// A geo point of the field inside the box (across the antimeridian when the top-left
    /// longitude is east of the bottom-right one).
    case geoBox(key: String, topLeft: GeoPoint, bottomRight: GeoPoint)
    /// A geo point of the field inside the exterior ring and outside every interior ring
    /// (rings closed: the first point repeated last).
    case geoPolygon(key: String, exterior: [GeoPoint], interiors: [[GeoPoint]])
    case hasID([PointID])
    /// The point carries the vector named (the dense vector's name or a sparse one's; nil: the
    /// dense vector). Names the collection lacks match no point.
    case hasVector(String?)
    /// Some object in the array at `key` satisfies `filter` on its own.
    case nested(key: String, filter: Filter)
    /// A filter used as a condition.
    case filter(Filter)
}

/// Bounds on a number; nil bounds are open.
public struct NumericRange: Sendable, Equatable {
    public var gt: Double?
    public var gte: Double?
    public var lt: Double?
    public var lte: Double?

    public init(gt: Double? = nil, gte: Double? = nil, lt: Double? = nil, lte: Double? = nil) {
        self.gt = gt
        self.gte = gte
        self.lt = lt
        self.lte = lte
    }

    public func contains(_ x: Double) -> Bool {
        if let gt, !(x > gt) { return false }
        if let gte, !(x >= gte) { return false }
        if let lt, !(x < lt) { return false }
        if let lte, !(x <= lte) { return false }
        return true
    }
}
