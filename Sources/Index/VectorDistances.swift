/// Distances over vectors stored back to back (`dimension` floats each), by a metric.
/// Pointers: the owner keeps the storage alive and unchanged while these are in use.
public struct FloatVectors: PairDistance, @unchecked Sendable {
    // @unchecked Sendable: a read-only view of immutable storage (see above).
    public let base: UnsafePointer<Float>
    public let dimension: Int
    public let metric: Metric

    public init(base: UnsafePointer<Float>, dimension: Int, metric: Metric) {
        self.base = base
        self.dimension = dimension
        self.metric = metric
    }

    @inline(__always)
    public func vector(_ node: UInt32) -> UnsafePointer<Float> { base + Int(node) * dimension }

    @inline(__always)
    public func distance(_ a: UInt32, _ b: UInt32) -> Float { metric.distance(vector(a), vector(b), count: dimension) }

    /// The exact distance from `query` to each node.
    public func query(_ query: UnsafePointer<Float>) -> FloatQuery { FloatQuery(vectors: self, query: query) }
}

public struct FloatQuery: NodeDistance {
    public let vectors: FloatVectors
    public let query: UnsafePointer<Float>

    @inline(__always)
    public func distance(to node: UInt32) -> Float {
        vectors.metric.distance(query, vectors.vector(node), count: vectors.dimension)
    }
}

/// Hamming distances over binary codes stored back to back (`words` UInt64 each).
public struct BinaryCodes: PairDistance, @unchecked Sendable {
    // @unchecked Sendable: a read-only view of immutable storage.
    public let base: UnsafePointer<UInt64>
    public let words: Int

    public init(base: UnsafePointer<UInt64>, words: Int) {
        self.base = base
        self.words = words
    }

    @inline(__always)
    public func code(_ node: UInt32) -> UnsafePointer<UInt64> { base + Int(node) * words }

    @inline(__always)
    public func distance(_ a: UInt32, _ b: UInt32) -> Float { Float(Hamming.distance(code(a), code(b), words: words)) }

    public func query(_ code: UnsafePointer<UInt64>) -> BinaryQuery { BinaryQuery(codes: self, query: code) }
}

public struct BinaryQuery: NodeDistance {
    public let codes: BinaryCodes
    public let query: UnsafePointer<UInt64>

    @inline(__always)
    public func distance(to node: UInt32) -> Float { Float(Hamming.distance(query, codes.code(node), words: codes.words)) }
}
