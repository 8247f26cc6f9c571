/// A sparse vector: term ids (strictly ascending) with their weights, as Qdrant's sparse
/// vectors (BM25-style term weights). The engine stores and scores them as given; callers
/// (the HTTP API) sort and check them first (`SparseVector.validated`).
public struct SparseVector: Sendable, Equatable, Hashable {
    public let indices: [UInt32]
    public let values: [Float]

    /// `indices` must be strictly ascending and as many as `values`: use `validated` for input
    /// that may not be.
    public init(indices: [UInt32], values: [Float]) {
        precondition(indices.count == values.count, "a sparse vector needs one value per index")
        self.indices = indices
        self.values = values
    }

    public var isEmpty: Bool { indices.isEmpty }

    /// Why these indices and values are not a sparse vector, or the vector sorted by index.
    public static func validated(indices: [UInt32], values: [Float]) -> Result<SparseVector, SparseVectorError> {
        guard indices.count == values.count else { return .failure(.lengthMismatch(indices: indices.count, values: values.count)) }
        if let bad = values.firstIndex(where: { !$0.isFinite }) { return .failure(.notFinite(position: bad)) }
        var sortedIndices = indices, sortedValues = values
        if zip(indices, indices.dropFirst()).contains(where: { $0 >= $1 }) {
            let order = indices.indices.sorted { indices[$0] < indices[$1] }
            sortedIndices = order.map { indices[$0] }
            sortedValues = order.map { values[$0] }
            if let dup = zip(sortedIndices, sortedIndices.dropFirst()).first(where: { $0 == $1 }) {
                return .failure(.duplicateIndex(dup.0))
            }
        }
        return .success(SparseVector(indices: sortedIndices, values: sortedValues))
    }
}

public enum SparseVectorError: Error, Equatable, CustomStringConvertible {
    case lengthMismatch(indices: Int, values: Int)
    case notFinite(position: Int)
    case duplicateIndex(UInt32)

    public var description: String {
        switch self {
        case .lengthMismatch(let i, let v): return "indices and values must be the same length (\(i) indices, \(v) values)"
        case .notFinite(let p): return "value at position \(p) is not a finite number"
        case .duplicateIndex(let i): return "index \(i) appears more than once"
        }
    }
}
