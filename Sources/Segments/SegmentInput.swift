import HSDBCore
import Index

/// What a segment is made of: points sorted by id (integers before UUIDs, ascending), each
/// with its version, vector and encoded payload. Vectors of cosine collections are already
/// normalised.
public protocol SegmentSource {
    var count: Int { get }
    var dimension: Int { get }
    func id(_ ordinal: Int) -> PointID
    func version(_ ordinal: Int) -> UInt64
    /// Whether `ordinal` carries a dense vector (by default every point does).
    func hasVector(_ ordinal: Int) -> Bool
    /// Copies the vector of `ordinal` to `into` (`dimension` floats); called only for points
    /// that carry one.
    func copyVector(_ ordinal: Int, into: UnsafeMutablePointer<Float>)
    /// The payload of `ordinal`, encoded with `PayloadCodec`.
    func payload(_ ordinal: Int) throws -> [UInt8]
    /// The names of the sparse vectors its points may have, ascending (by default none: the
    /// segment is written without sparse sections, as format version 1).
    var sparseNames: [String] { get }
    /// The sparse vector `sparseNames[name]` of `ordinal`, if it has one.
    func sparse(_ ordinal: Int, name: Int) -> SparseVector?
    /// Calls `body` with a graph of lane `lane` with `m` links per node the build may start
    /// from (a merge's largest input, its nodes renumbered to this source's ordinals), or nil
    /// (by default).
    func withCarriedGraph<R>(m: Int, lane: Int, _ body: (CarriedGraph?) throws -> R) rethrows -> R
    /// The dimensions of the further dense vectors (lanes 1, 2, ...; by default none).
    var laneDimensions: [Int] { get }
    /// Whether `ordinal` carries lane `lane`'s vector (lane 0: `hasVector(_:)`).
    func hasVector(_ ordinal: Int, lane: Int) -> Bool
    /// Copies lane `lane`'s vector of `ordinal` (lane 0: `copyVector(_:into:)`); called only
    /// for points that carry one.
    func copyVector(_ ordinal: Int, lane: Int, into: UnsafeMutablePointer<Float>)
    /// A multivector lane's vectors of `ordinal`, one after another (nil: none); by default nil.
    func multivector(_ ordinal: Int, lane: Int) -> [Float]?
}

extension SegmentSource {
    public func hasVector(_ ordinal: Int) -> Bool { true }
    public func withCarriedGraph<R>(m: Int, lane: Int, _ body: (CarriedGraph?) throws -> R) rethrows -> R { try body(nil) }
    public var laneDimensions: [Int] { [] }
    public func multivector(_ ordinal: Int, lane: Int) -> [Float]? { nil }
    public func hasVector(_ ordinal: Int, lane: Int) -> Bool {
        precondition(lane == 0, "this source has no further dense vectors")
        return hasVector(ordinal)
    }
    public func copyVector(_ ordinal: Int, lane: Int, into: UnsafeMutablePointer<Float>) {
        precondition(lane == 0, "this source has no further dense vectors")
        copyVector(ordinal, into: into)
    }
}

/// How a further dense vector (or the file's own) is indexed.
public struct LaneIndexOptions: Sendable, Equatable {
    public var metric: Metric
    public var m: Int
    public var efConstruction: Int
    /// The collection's quantizer of this vector (nil: centred on this segment's own mean).
    public var quantizer: BinaryQuantizer?
    /// A multivector lane (`SegmentSource.multivector`): no graph, its vectors' codes.
    public var multivector: Bool

    public init(metric: Metric, m: Int = 16, efConstruction: Int = 200, quantizer: BinaryQuantizer? = nil, multivector: Bool = false) {
        self.multivector = multivector
        self.metric = metric
        self.m = m
        self.efConstruction = efConstruction
        self.quantizer = quantizer
    }
}

/// How a segment's index is built.
public struct SegmentIndexOptions: Sendable, Equatable {
    public var metric: Metric
    public var m: Int
    public var efConstruction: Int
    /// Below this many points no graph is built: an exact scan of the codes is as fast.
    public var minGraphPoints: Int
    /// Threads that insert into the graph at once.
    public var buildThreads: Int
    /// Their CPU priority (a nice value; `BackgroundThreads`).
    public var buildNice: Int32 = 0
    /// The quantizer for the codes (the collection's, so codes compare across segments);
    /// nil: centred on this segment's own mean.
    public var quantizer: BinaryQuantizer?
    /// The further dense vectors', one per `SegmentSource.laneDimensions`.
    public var lanes: [LaneIndexOptions] = []

    public init(
        metric: Metric, m: Int = 16, efConstruction: Int = 200, minGraphPoints: Int = 1024, buildThreads: Int = 1,
        quantizer: BinaryQuantizer? = nil
    ) {
        self.metric = metric
        self.quantizer = quantizer
        self.m = m
        self.efConstruction = efConstruction
        self.minGraphPoints = minGraphPoints
        self.buildThreads = buildThreads
    }
}

/// A written segment: its content id (SHA-256 of the file, lowercase hex), file name, size.
public struct SegmentInfo: Sendable, Equatable {
    public let contentID: String
    public let fileName: String
    public let bytes: Int
    public let count: Int
    public let minLSN: UInt64
    public let maxLSN: UInt64
}
