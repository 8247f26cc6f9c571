/// How two vectors are compared. Frozen raw values: stored in collection metadata.
public enum Metric: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Cosine similarity: vectors are normalised at write, then compared by dot product.
    case cosine = 1
    /// Dot product (inner product); larger is nearer.
    case dot = 2
    /// Euclidean (L2) distance; smaller is nearer.
    case euclidean = 3

    public var description: String {
        switch self {
        case .cosine: return "cosine"
        case .dot: return "dot"
        case .euclidean: return "euclidean"
        }
    }

    public init?(name: String) {
        switch name.lowercased() {
        case "cosine": self = .cosine
        case "dot": self = .dot
        case "euclid", "euclidean", "l2": self = .euclidean
        default: return nil
        }
    }

    /// Whether a larger score means nearer.
    public var higherIsBetter: Bool { self != .euclidean }

    /// An ordering distance: smaller is nearer. Negated dot product for cosine and dot,
    /// squared L2 for euclidean (monotone in the reported score, cheaper than it).
    @inline(__always)
    public func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        switch self {
        case .cosine, .dot: return -Distance.dot(a, b, count: count)
        case .euclidean: return Distance.squaredEuclidean(a, b, count: count)
        }
    }

    /// The reported score for an ordering distance from `distance(_:_:count:)`.
    @inline(__always)
    public func score(fromDistance d: Float) -> Float {
        switch self {
        case .cosine, .dot: return -d
        case .euclidean: return d.squareRoot()
        }
    }

    /// The score reported for a pair: similarity for cosine and dot, distance for euclidean.
    @inline(__always)
    public func score(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        switch self {
        case .cosine, .dot: return Distance.dot(a, b, count: count)
        case .euclidean: return Distance.squaredEuclidean(a, b, count: count).squareRoot()
        }
    }
}
