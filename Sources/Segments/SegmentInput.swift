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
    /// Calls `body` with a graph of `m` links per node the build may start from (a merge's
    /// largest input, its nodes renumbered to this source's ordinals), or nil (by default).
    func withCarriedGraph<R>(m: Int, _ body: (CarriedGraph?) throws -> R) rethrows -> R
}

extension SegmentSource {
    public func hasVector(_ ordinal: Int) -> Bool { true }
    public func withCarriedGraph<R>(m: Int, _ body: (CarriedGraph?) throws -> R) rethrows -> R { try body(nil) }
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
