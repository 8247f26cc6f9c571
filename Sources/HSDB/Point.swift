/// A point to write: id, dense vector (exactly the collection's dimension, finite values; nil:
/// the point carries none, and is found by sparse search, scroll and lookups but not by dense
/// search), sparse vectors by name (each a name of the collection's `sparseVectors`; a point
/// may have none of them), further dense vectors by name (each a name of the collection's
/// `namedVectors`, of its dimension) and payload.
public struct Point: Sendable, Equatable {
    public var id: PointID
    public var vector: [Float]?
    public var sparse: [String: SparseVector]
    public var named: [String: [Float]]
    public var payload: Payload

    public init(
        id: PointID, vector: [Float]?, sparse: [String: SparseVector] = [:], named: [String: [Float]] = [:], payload: Payload = [:]
    ) {
        self.id = id
        self.vector = vector
        self.sparse = sparse
        self.named = named
        self.payload = payload
    }
}

/// A point as read back: its live version (the LSN of the write that produced it) and, if
/// asked for, its vectors and payload. For cosine collections the vector is the normalised one.
public struct Record: Sendable, Equatable {
    public let id: PointID
    public let version: UInt64
    public let vector: [Float]?
    /// With the vector: the point's sparse vectors by name (empty when it has none).
    public let sparse: [String: SparseVector]?
    public let payload: Payload?
    /// With the vector: the point's further dense vectors by name (those it carries).
    public var named: [String: [Float]]? = nil
}

/// A search hit: a record with its score (similarity for cosine and dot, distance for euclidean).
public struct ScoredPoint: Sendable, Equatable {
    public let id: PointID
    public let version: UInt64
    public let score: Float
    public let vector: [Float]?
    public let sparse: [String: SparseVector]?
    public let payload: Payload?
    public var named: [String: [Float]]?
    /// For an `orderBy` query: the payload value the point was ordered by.
    public var orderValue: Double?

    public init(
        id: PointID, version: UInt64, score: Float, vector: [Float]?, sparse: [String: SparseVector]? = nil, payload: Payload?,
        named: [String: [Float]]? = nil
    ) {
        self.named = named
        self.id = id
        self.version = version
        self.score = score
        self.vector = vector
        self.sparse = sparse
        self.payload = payload
    }
}

/// One page of a scroll: points in ascending id order, and the id to start the next page at.
public struct ScrollPage: Sendable, Equatable {
    public let points: [Record]
    public let nextOffset: PointID?
}

/// What a write returns: the LSN it was logged under, which is the version of every point it wrote.
public struct WriteResult: Sendable, Equatable {
    public let lsn: UInt64
}

/// Which parts of a point to return.
public struct Projection: Sendable, Equatable {
    /// The dense vector and the sparse vectors.
    public var withVector: Bool
    public var withPayload: Bool

    public init(withVector: Bool = false, withPayload: Bool = true) {
        self.withVector = withVector
        self.withPayload = withPayload
    }

    public static let payloadOnly = Projection()
    public static let everything = Projection(withVector: true, withPayload: true)
    public static let idsOnly = Projection(withVector: false, withPayload: false)
}
