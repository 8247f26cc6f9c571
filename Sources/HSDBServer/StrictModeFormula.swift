import HSDB
import HSDBCore

extension StrictMode {
    /// With unindexed filtering off, every payload field a formula reads needs an index that
    /// serves it, as in Qdrant: a number by an integer or float index, a geo point by a geo
    /// one, a datetime by a datetime one, a condition as in a filter.
    func check(formula: Formula) throws {
        guard values["unindexed_filtering_retrieve"] == .bool(false), let (key, types) = unindexed(formula) else { return }
        throw Self.refusal(
            "Index required but not found for \"\(key)\" of one of the following types: [\(types.joined(separator: ", "))]",
            "Create an index for this key or use a different formula expression.")
    }

    /// The first field the formula reads that no index serves, with the types that would.
    private func unindexed(_ formula: Formula) -> (String, [String])? {
        var found: (String, [String])?
        formula.expression.visit { e in
            guard found == nil else { return }
            let needed: (String, [StrictModeFilter.Capability])
            switch e {
            case .variable(.payload(let key)): needed = (key, [.intRange, .floatRange])
            case .geoDistance(_, let key): needed = (key, [.geo])
            case .datetimeKey(let key): needed = (key, [.datetimeRange])
            case .condition(let c):
                found = StrictModeFilter.unindexed(Filter(must: [c]), schema: schema)
                return
            default: return
            }
            if let have = schema[needed.0], !have.isDisjoint(with: needed.1) { return }
            found = (needed.0, Array(Set(needed.1.map(\.schemaName))).sorted())
        }
        return found
    }
}
