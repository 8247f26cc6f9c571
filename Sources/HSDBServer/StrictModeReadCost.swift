import HSDB
import HSDBCore

/// What a read costs against `read_rate_limit`, in Qdrant's units (`search_rate_cost`,
/// `scroll_rate_cost`): one token per dense vector compared, one per vector of a multivector,
/// one per 64 dimensions of a sparse vector, one for a read without a vector, plus one per
/// filter condition; a retrieve costs one per id. Points named as queries or examples are
/// looked up first, as a retrieve of their own (`lookups`).
struct StrictModeReadCost {
    let config: CollectionConfig
    /// The vector of a point on a multivector lane, to count its vectors; nil if missing.
    let stored: (PointID, Int) -> [Float]?

    /// Qdrant's `SPARSE_DIMS_COST_UNIT`.
    static let sparseDimensionsPerToken = 64

    /// The ids the query looks up, then the cost of the searches and scrolls it runs.
    func cost(_ q: QueryRequest) -> (lookups: Int, search: Int) {
        if !q.prefetch.isEmpty {
            // Only the prefetches search; the root fuses or rescores what they found.
            return q.prefetch.map(cost).reduce((0, 0)) { ($0.0 + $1.lookups, $0.1 + $1.search) }
        }
        let conditions = q.filter.map(StrictModeFilter.conditionCount) ?? 0
        guard let (examples, compared) = vectors(q.target, lane: laneNumber(q.using)) else {
            return (0, 1 + conditions)  // no vector: a scroll (a fusion, an order, a sample)
        }
        // Points named as the query or examples are looked up, and left out of the results
        // by one more condition (the `has_id` Qdrant adds to the filter).
        let ids = examples.filter(\.isPoint).count
        return (ids, compared + conditions + (ids > 0 ? 1 : 0))
    }

    /// The examples a vector query names and the tokens its comparisons cost; nil for a read
    /// without a vector.
    private func vectors(_ target: Query.Target, lane: Int?) -> (examples: [Query.Example], compared: Int)? {
        switch target {
        case .vector(let v):
            return ([], similarity(v, lane: lane))
        case .sparse(let s):
            return ([], sparse(s))
        case .point(let id):
            return ([.point(id)], example(.point(id), lane: lane))
        case .recommend(let positive, let negative, let strategy):
            // The average of the examples is one vector; the other strategies compare each.
            let examples = positive + negative
            return (examples, strategy == .averageVector ? 1 : compared(examples, lane))
        case .discover(let target, let pairs):
            let examples = [target] + pairs.flatMap { [$0.positive, $0.negative] }
            return (examples, compared(examples, lane))
        case .context(let pairs):
            let examples = pairs.flatMap { [$0.positive, $0.negative] }
            return (examples, compared(examples, lane))
        default:
            return nil
        }
    }

    private func compared(_ examples: [Query.Example], _ lane: Int?) -> Int {
        examples.map { example($0, lane: lane) }.reduce(0, +)
    }

    /// A scroll, count or facet: one token, and one per filter condition.
    static func scroll(_ filter: Filter?) -> Int { 1 + (filter.map(StrictModeFilter.conditionCount) ?? 0) }

    private func laneNumber(_ using: Query.Using) -> Int? {
        switch using {
        case .dense: return 0
        case .named(let name): return config.lane(of: name)
        case .sparse: return nil
        }
    }

    private func example(_ e: Query.Example, lane: Int?) -> Int {
        switch e {
        case .vector(let v): return similarity(v, lane: lane)
        case .point(let id):
            guard let lane, lane > 0, config.namedVectors[lane - 1].multivector else { return 1 }
            return stored(id, lane).map { similarity($0, lane: lane) } ?? 1
        }
    }

    /// One token for a dense vector; one per vector of a multivector (held flat).
    private func similarity(_ v: [Float], lane: Int?) -> Int {
        guard let lane, lane > 0 else { return 1 }
        let named = config.namedVectors[lane - 1]
        return named.multivector && named.dimension > 0 ? max(1, v.count / named.dimension) : 1
    }

    private func sparse(_ s: SparseVector) -> Int {
        (s.indices.count + Self.sparseDimensionsPerToken - 1) / Self.sparseDimensionsPerToken
    }
}

extension Query.Example {
    fileprivate var isPoint: Bool { if case .point = self { true } else { false } }
}
