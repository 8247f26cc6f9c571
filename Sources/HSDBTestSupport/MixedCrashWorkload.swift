import HSDB

/// The sequential workload of the mixed crash test: step `number` of run `seed` is always the
/// same operation (upsert, delete, payload replacement, flush, compaction or search), and the
/// child runs the steps one after another, so the acknowledged steps define the collection's
/// state exactly and at most one step (the one in flight at the kill) is in doubt.
public enum MixedCrashWorkload {
    public static let collection = "mixed"
    public static let dimension = 16
    public static let idRange: UInt64 = 300
    /// Two of three upserted points also carry this sparse vector (IDF-weighted); one in eight
    /// carries no dense vector (version 3 WAL records, segments with absent vectors).
    public static let sparseName = "s"
    public static let sparseVectors = [sparseName: SparseVectorParameters(modifier: .idf)]
    /// Further dense vectors: one in two points carries "n", one in three the multivector "m"
    /// (version 4 WAL records, version 4 segments with lanes).
    public static let lanes = [
        NamedVectorConfig(name: "n", dimension: 4, metric: .dot, hnswM: 8, hnswEfConstruction: 32),
        NamedVectorConfig(name: "m", dimension: 4, metric: .dot, multivector: true),
    ]

    public enum Step: Sendable {
        case upsert([Point])
        case delete([PointID])
        case replacePayload(Payload, [PointID])
        case flush
        case compact
        /// A search with a filter on the group field (the child also searches all the time
        /// from another task).
        case search([Float], group: Int64)

        /// Whether the step writes (has an LSN).
        public var writes: Bool {
            switch self {
            case .upsert, .delete, .replacePayload: return true
            case .flush, .compact, .search: return false
            }
        }
    }

    public static func step(seed: UInt64, number: Int) -> Step {
        var rng = SplitMix64(seed: seed ^ (UInt64(number) &* 0xD1B5_4A32_D192_ED03))
        func ids(_ n: UInt64) -> [PointID] {
            var out: [PointID] = []
            for _ in 0..<(1 + rng.next() % n) {
                let id = PointID.integer(rng.next() % idRange)
                if !out.contains(id) { out.append(id) }
            }
            return out
        }
        if number % 97 == 96 { return .compact }
        if number % 23 == 22 { return .flush }
        switch rng.next() % 10 {
        case 0..<6:
            return .upsert(ids(16).map { id in
                var named: [String: [Float]] = [:]
                if rng.next() % 2 == 0 { named["n"] = Array(vector(&rng).prefix(4)) }
                if rng.next() % 3 == 0 { named["m"] = Array(vector(&rng).prefix(4 * Int(1 + rng.next() % 3))) }
                return Point(
                    id: id, vector: rng.next() % 8 == 0 ? nil : vector(&rng), sparse: rng.next() % 3 == 0 ? [:] : [sparseName: sparse(&rng)],
                    named: named, payload: ["step": .int(Int64(number)), "g": .int(Int64(number % 5))])
            })
        case 6, 7: return .delete(ids(8))
        case 8: return .replacePayload(["step": .int(Int64(number)), "g": .int(Int64(number % 5)), "replaced": .bool(true)], ids(8))
        default: return .search(vector(&rng), group: Int64(rng.next() % 5))
        }
    }

    /// A few of 50 terms, weights in (0, 5].
    public static func sparse(_ rng: inout SplitMix64) -> SparseVector {
        let indices = Set((0..<(1 + rng.next() % 5)).map { _ in UInt32(rng.next() % 50) }).sorted()
        return SparseVector(indices: indices, values: indices.map { _ in Float(1 + rng.next() % 50) / 10 })
    }

    public static func vector(_ rng: inout SplitMix64) -> [Float] {
        (0..<dimension).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
    }
}
