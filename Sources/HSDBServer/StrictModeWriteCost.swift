import HSDB
import HSDBCore

/// How many points a write touches, for `write_rate_limit`: the points or ids it names, or
/// for a filter the number Qdrant's cardinality estimate expects (`estimate_filter`): a
/// condition an index serves counts its matches, an id list its ids, any other condition half
/// the collection; `must` multiplies the fractions, `should` joins them as independent events,
/// `must_not` takes the complement.
enum StrictModeWriteCost {
    static func points(_ operation: WriteOperation, in c: Collection, schema: StrictModeFilter.Schema) -> Int {
        switch operation {
        case .upsert(let points, _, _): return points.count
        case .updateVectors(let updates, _): return updates.count
        case .delete(let selector), .payload(_, let selector), .deleteVectors(_, _, let selector):
            switch selector {
            case .ids(let ids): return ids.count
            case .filter(let f): return Estimate(collection: c, total: c.count(), schema: schema).expected(f)
            }
        }
    }

    private struct Estimate {
        let collection: Collection
        let total: Int
        let schema: StrictModeFilter.Schema

        func expected(_ f: Filter) -> Int {
            guard total > 0 else { return 0 }
            var parts = f.must.map(expected)
            if !f.should.isEmpty { parts.append(either(f.should.map(expected))) }
            if let m = f.minShould, !m.conditions.isEmpty { parts.append(either(m.conditions.map(expected))) }
            parts += f.mustNot.map { total - expected($0) }
            let fraction = parts.reduce(1.0) { $0 * Double($1) / Double(total) }
            return Int((fraction * Double(total)).rounded())
        }

        /// Qdrant's `expected_should_estimation`.
        private func either(_ counts: [Int]) -> Int {
            let none = counts.reduce(1.0) { $0 * (1 - Double($1) / Double(total)) }
            return Int(((1 - none) * Double(total)).rounded())
        }

        private func expected(_ c: Condition) -> Int {
            switch c {
            case .hasID(let ids): return min(ids.count, total)
            case .filter(let inner): return expected(inner)
            default:
                // An index answers the condition exactly; without one Qdrant assumes half.
                let single = Filter(must: [c])
                guard StrictModeFilter.needs(c) != nil, StrictModeFilter.unindexed(single, schema: schema) == nil,
                    let n = try? collection.count(filter: single)
                else { return total / 2 }
                return n
            }
        }
    }
}
