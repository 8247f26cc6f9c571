import Foundation
import WAL
import HSDBCore
import Index

/// A collection's fixed shape, chosen at creation.
public struct CollectionConfig: Sendable, Equatable {
    public var dimension: Int
    public var metric: Metric
    /// HNSW graph degree and build beam, kept for the segment index.
    public var hnswM: Int
    public var hnswEfConstruction: Int
    /// The named sparse vectors a point may carry beside its dense vector.
    public var sparseVectors: [String: SparseVectorParameters]
    /// Further dense vectors a point may carry beside the first, each under its own name and
    /// with its own dimension, metric and graph (lanes 1, 2, ... in this order).
    public var namedVectors: [NamedVectorConfig]
    /// Settings the engine keeps but does not interpret (the HTTP API keeps the collection's
    /// Qdrant-style configuration here, to report it back as it was given).
    public var attributes: Payload

    public init(
        dimension: Int, metric: Metric = .cosine, hnswM: Int = 16, hnswEfConstruction: Int = 200,
        sparseVectors: [String: SparseVectorParameters] = [:], namedVectors: [NamedVectorConfig] = [], attributes: Payload = [:]
    ) {
        self.namedVectors = namedVectors
        self.dimension = dimension
        self.metric = metric
        self.hnswM = hnswM
        self.hnswEfConstruction = hnswEfConstruction
        self.sparseVectors = sparseVectors
        self.attributes = attributes
    }
}

extension CollectionConfig {
    /// The lane of the further dense vector `name` (1...), or nil.
    public func lane(of name: String) -> Int? { namedVectors.firstIndex { $0.name == name }.map { $0 + 1 } }

    /// Whether lane `lane` holds multivectors (the first dense vector never does).
    func isMultivector(_ lane: Int) -> Bool { lane > 0 && namedVectors[lane - 1].multivector }

    /// Lane `lane`'s dimension and metric (0: the first dense vector's).
    public func dense(_ lane: Int) -> (dimension: Int, metric: Metric) {
        lane == 0 ? (dimension, metric) : (namedVectors[lane - 1].dimension, namedVectors[lane - 1].metric)
    }
}

/// A further dense vector of a collection.
public struct NamedVectorConfig: Sendable, Equatable {
    public var name: String
    public var dimension: Int
    public var metric: Metric
    public var hnswM: Int
    public var hnswEfConstruction: Int
    /// A multivector (Qdrant's `multivector_config` with `max_sim`): a point carries one or more
    /// vectors of `dimension` under the name (one after another in `Point.named`), and is scored
    /// against a query's vectors by MaxSim: the sum over the query's vectors of the best
    /// similarity to any of the point's.
    public var multivector: Bool

    public init(
        name: String, dimension: Int, metric: Metric = .cosine, hnswM: Int = 16, hnswEfConstruction: Int = 200, multivector: Bool = false
    ) {
        self.name = name
        self.dimension = dimension
        self.metric = metric
        self.hnswM = hnswM
        self.hnswEfConstruction = hnswEfConstruction
        self.multivector = multivector
    }
}

/// How one named sparse vector is scored.
public struct SparseVectorParameters: Sendable, Equatable {
    /// Qdrant's `modifier`: `idf` weighs each query term by its inverse document frequency
    /// over the collection's live points.
    public enum Modifier: UInt8, Sendable {
        case none = 0
        case idf = 1
    }

    public var modifier: Modifier

    public init(modifier: Modifier = .none) { self.modifier = modifier }
}

/// Limits on what one request may carry. A write over a limit is refused whole.
public struct Limits: Sendable, Equatable {
    public static let maxDimension = 65_536
    /// Encoded payload bytes per point.
    public var maxPayloadBytes = 1 << 20
    /// Nesting of arrays and objects in a payload.
    public var maxPayloadDepth = 32
    /// Points in one upsert or delete.
    public var maxBatchPoints = 100_000

    public init() {}
}

/// How a database is opened.
public struct DatabaseOptions: Sendable {
    public var durability: DurabilityMode = .fsync
    public var walFileSize = 64 << 20
    /// Salvage: skip corrupt WAL records in the middle of the log instead of refusing to open.
    public var skipCorruption = false
    /// Create the directory if it does not exist.
    public var createIfMissing = true
    public var limits = Limits()
    /// The memtable is written to a segment once this many bytes of writes have gone into it.
    public var memtableFlushBytes = 64 << 20
    /// Writers wait (a write stall) while this many bytes of writes are not yet in segments;
    /// by default four memtables.
    public var memtableStallBytes = 256 << 20
    /// Segments with fewer points carry no graph: a code scan of them costs no more than a
    /// walk (by default the code-scan crossover, `codeScanPoints`, so no flush or merge
    /// builds a graph that searches would not use).
    public var minGraphPoints = DatabaseOptions.defaultCodeScanPoints
    /// With compaction on, flushes write no graph (only vectors and codes, so writers seldom
    /// wait for them) and merges give segments their graphs (`CompactionPolicy`): each point
    /// is inserted into a graph about once. Without compaction nothing else would, so flushes do.
    public var flushesBuildGraphs: Bool { !compaction.enabled }
    /// A memtable of at least `idleFlushPoints` live points that has taken no write for
    /// `idleFlushAfter` (checked every `idleFlushAfter`, so between one and two of them) is
    /// flushed, so data that stopped changing is searched through a segment's graph rather
    /// than a memtable's code scan. Nil: only full memtables are flushed.
    public var idleFlushAfter: Duration? = .seconds(5)
    /// Smaller memtables stay: a code scan of them costs no more than a segment's graph.
    public var idleFlushPoints = DatabaseOptions.defaultCodeScanPoints
    /// Which flushed WAL files to keep (for replication and point-in-time restore).
    public var walRetention = WALRetentionPolicy()
    /// Clean closes write a WAL close marker. A follower turns this off: its log holds its
    /// leader's LSNs (the leader's close markers included) and must take none of its own.
    public var writesWALCloseMarkers = true
    /// A collection that cannot be opened because a file of it is missing or damaged is moved
    /// to `<data>/quarantine/` and left out, instead of failing the open (`Database.quarantined`
    /// lists it). For a copy that can be fetched again (a follower); a lone node fails instead.
    public var quarantinesDamagedCollections = false
    /// Check every segment's checksums and content hash in the background after open.
    public var verifySegmentsOnOpen = true
    /// Threads that build a segment's graph (flush, compaction); by default every core.
    public var indexThreads = ProcessInfo.processInfo.activeProcessorCount
    /// Their CPU priority, a nice value (0: as the process): by default lower, so searches and
    /// writes take the cores first and builds use what is left (`BackgroundThreads`).
    public var indexThreadNice = BackgroundThreads.defaultNice
    /// With a filter, a segment with at most this many matching points (or a tenth of its
    /// points) is scored exactly instead of searched through its graph.
    public var filterExactScanPoints = 2_000
    /// Segments with at most this many points are searched by a flat scan of their binary
    /// codes (native kernel, then the estimator and exact rescoring) instead of their graph,
    /// whenever the search ranks by codes (binary oversampling above 0); larger ones by their
    /// graph walked by the estimator. 0 turns the scan off. By default where the two cost the
    /// same on the kernel path this CPU runs (DESIGN.md, "Search": 10,000 points with AVX2).
    public var codeScanPoints = DatabaseOptions.defaultCodeScanPoints

    /// The crossover measured with AVX2 (10,000 points), doubled where the scan kernel is
    /// twice as fast (AVX-512), a fifth of it on the portable path (a tenth of the speed).
    public static var defaultCodeScanPoints: Int {
        switch ScanKernel.best {
        case .avx512: return 20_000
        case .avx2: return 10_000
        case .scalar: return 2_000
        }
    }
    /// A search that runs alone and has much to scan (at least 100,000 points' worth in each
    /// half of its layers) searches the halves on two cores at once. Below that the hand-off to
    /// a second core cost more than it saved (measured, DESIGN.md "Search"). Servers under
    /// concurrent load may turn this off: their requests already fill the cores.
    public var parallelSegmentSearch = true
    /// A merge starts its graph from its largest input's (when that input keeps nine tenths of
    /// its points): measured on the dev set, a 69K + 31K merge 16 s sooner, recall@10 within
    /// 0.003 (DESIGN.md, "Compaction"). Off: every merge builds its graph from nothing.
    public var mergeCarriesGraph = true
    /// When segments are merged in the background (after flushes).
    public var compaction = CompactionPolicy()

    public init(durability: DurabilityMode = .fsync) { self.durability = durability }
}

extension CollectionConfig {
    /// What a live collection can never change: how its points' vectors are laid out.
    public struct Shape: Equatable, Sendable {
        let dense: [DenseShape]
        let sparseNames: Set<String>
    }

    struct DenseShape: Equatable, Sendable {
        let name: String
        let dimension: Int
        let metric: Metric
        let multivector: Bool
    }

    public var shape: Shape {
        let first = DenseShape(name: "", dimension: dimension, metric: metric, multivector: false)
        let lanes = namedVectors.map { DenseShape(name: $0.name, dimension: $0.dimension, metric: $0.metric, multivector: $0.multivector) }
        return Shape(dense: [first] + lanes, sparseNames: Set(sparseVectors.keys))
    }
}
