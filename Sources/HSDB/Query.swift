/// A search as Qdrant's universal query describes it (`POST .../points/query`): nearest points
/// to a dense or sparse vector or to a stored point, a recommendation, the fusion of
/// sub-queries (`prefetch`), or, without a target, points in id order; optionally re-ranked by
/// maximal marginal relevance. `Collection.query` runs it; the HTTP API only decodes it
/// (DESIGN.md, "Search", "Hybrid queries").
public struct Query: Sendable {
    public enum Target: Sendable {
        /// No query: points in id order (score 0).
        case none
        case vector([Float])
        case sparse(SparseVector)
        /// The vector (`using`) of a stored point; that point is left out of the results.
        case point(PointID)
        /// The prefetches' results fused.
        case fusion(Fusion)
        /// Qdrant's `recommend` (the examples left out of the results): by default
        /// `average_vector`, the nearest points to avg(positive) + (avg(positive) -
        /// avg(negative)); `bestScore` and `sumScores` score every point against each example.
        case recommend(positive: [Example], negative: [Example], strategy: RecommendStrategy = .averageVector)
        /// Qdrant's discovery: each point ranked by how many context pairs it lies on the
        /// positive side of, then by its similarity to the target (DiscoverScoring).
        case discover(target: Example, context: [ContextPair])
        /// Qdrant's context search: each point scored by how far it lies on the negative side
        /// of the pairs (0 when on the positive side of all).
        case context([ContextPair])
        /// Points ordered by a payload field (range-indexed), each scored 1 with its value as
        /// `orderValue`; over prefetches, their hits in that order.
        case orderBy(PayloadOrder)
        /// Points in random order, each scored 1 (Qdrant's `{"sample": "random"}`).
        case sample
        /// The prefetches' hits scored by a formula (Qdrant's score boosting).
        case formula(Formula)
    }

    /// A positive and a negative example; a point is on the pair's positive side when it is
    /// more similar to the positive one.
    public struct ContextPair: Sendable {
        public var positive: Example
        public var negative: Example

        public init(positive: Example, negative: Example) {
            self.positive = positive
            self.negative = negative
        }
    }

    /// How a recommendation scores points (Qdrant's strategies), with sim the similarity a
    /// search ranks by (dot product; for euclidean, minus the squared distance).
    public enum RecommendStrategy: Sendable, Equatable {
        case averageVector
        /// max sim over positives, when above max sim over negatives, squashed into (0.5, 1);
        /// else minus the negatives' max, squashed: s(x) = 0.5 (x / (1 + |x|) + 1).
        case bestScore
        /// sum of sims to positives minus sum of sims to negatives.
        case sumScores
    }

    /// A recommendation example: a stored point (by id) or a vector.
    public enum Example: Sendable {
        case point(PointID)
        case vector([Float])
    }

    public enum Fusion: Sendable, Equatable {
        /// Reciprocal rank fusion, as Qdrant scores it: the prefetch at position p (from 0) of
        /// its list adds 1 / ((p + 1) / weight + k - 1), its weight 1 unless `weights` gives
        /// one per prefetch (0 or less: adds nothing). Qdrant's default k is 2.
        case rrf(k: Int, weights: [Float]? = nil)
        /// Distribution-based score fusion: each prefetch's scores mapped from
        /// [mean - 3 sd, mean + 3 sd] to [0, 1], then summed.
        case dbsf
    }

    /// Which vector the target is compared with.
    public enum Using: Sendable, Equatable {
        /// The first dense vector.
        case dense
        /// A further dense vector (`CollectionConfig.namedVectors`), by name.
        case named(String)
        case sparse(String)

        /// The first or a further dense vector.
        public var isDense: Bool { if case .sparse = self { false } else { true } }
    }

    /// Maximal marginal relevance: from the `candidates` nearest, greedily the one maximising
    /// `(1 - diversity) * sim(query, c) - diversity * max sim(c, already taken)`.
    public struct MMR: Sendable {
        public var diversity: Float
        public var candidates: Int

        public init(diversity: Float, candidates: Int) {
            self.diversity = diversity
            self.candidates = candidates
        }
    }

    public var target: Target
    public var using: Using
    public var mmr: MMR?
    public var filter: Filter?
    public var parameters: SearchParameters
    public var limit: Int
    public var offset: Int
    public var scoreThreshold: Float?
    /// For a sparse vector with the `idf` modifier: the points whose statistics (N, df) weigh
    /// the query's indices; nil: the whole collection.
    public var idfCorpus: Filter?
    /// Sub-queries whose results this query fuses or re-scores.
    public var prefetch: [Query]

    public init(
        _ target: Target = .none, using: Using = .dense, limit: Int = 10, offset: Int = 0, filter: Filter? = nil,
        scoreThreshold: Float? = nil, parameters: SearchParameters = SearchParameters(), prefetch: [Query] = [], mmr: MMR? = nil
    ) {
        self.target = target
        self.using = using
        self.limit = limit
        self.offset = offset
        self.filter = filter
        self.scoreThreshold = scoreThreshold
        self.parameters = parameters
        self.prefetch = prefetch
        self.mmr = mmr
    }
}
