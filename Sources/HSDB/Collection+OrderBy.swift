import HSDBCore

/// How `Collection.ordered` sorts: by the values of one payload field.
public struct PayloadOrder: Sendable, Equatable {
    public var key: String
    public var descending: Bool
    /// Only values at or after it (at or below, descending).
    public var startFrom: Double?

    public init(key: String, descending: Bool = false, startFrom: Double? = nil) {
        self.key = key
        self.descending = descending
        self.startFrom = startFrom
    }
}

extension Collection {
    /// The first `limit` live points (matching `filter`) in the order of the payload field
    /// `order.key`, with the value each was ordered by. The field must have an integer,
    /// float or datetime index (as Qdrant requires); numbers order numerically, datetimes as
    /// instants (seconds since the epoch). A point whose field has several values comes once
    /// per value, as in Qdrant (its range index holds each); points without one are left out;
    /// ties go in id order. Reads every matching point's payload once (O(points)).
    public func ordered(
        by order: PayloadOrder, limit: Int, projection: Projection = .payloadOnly, filter: Filter? = nil
    ) throws -> [(record: Record, value: Double)] {
        guard limit >= 1 else { throw HSDBError.invalidArgument("limit must be at least 1, got \(limit)") }
        guard let type = payloadIndexes[order.key], [.integer, .float, .datetime].contains(type) else {
            throw HSDBError.invalidArgument(
                "no range index for the order_by key '\(order.key)': create an integer, float or datetime payload index on it")
        }
        let filter = filter.map(resolved)
        var keyed: [(value: Double, id: PointID)] = []
        let s = snapshot  // one snapshot: the order and the records agree
        var offset: PointID?
        repeat {
            let page = try scroll(in: s, from: offset, limit: 4096, projection: .payloadOnly, filter: filter)
            offset = page.nextOffset
            for r in page.points {
                guard let payload = r.payload else { continue }
                let values = FieldPath.values(order.key, in: payload).compactMap { v -> Double? in
                    switch (type, v) {
                    case (.datetime, .string(let text)): return PayloadDateTime.seconds(text)
                    case (.datetime, _): return nil
                    default: return v.number
                    }
                }
                for value in values {
                    if let from = order.startFrom, order.descending ? value > from : value < from { continue }
                    keyed.append((value, r.id))
                }
            }
        } while offset != nil
        keyed.sort { a, b in a.value != b.value ? (order.descending ? a.value > b.value : a.value < b.value) : a.id < b.id }
        var records: [PointID: Record] = [:]
        return try keyed.prefix(limit).map { k in
            if records[k.id] == nil { records[k.id] = try record(k.id, s.find(k.id)!, projection) }
            return (records[k.id]!, k.value)
        }
    }
}
