import Foundation
import HSDB
import HSDBCore

/// Strict mode's limits on what upserts and vector updates bring (Qdrant's
/// `verification/update.rs`): the collection's size before the write, and the length of each
/// sparse vector and multivector, with Qdrant's texts (400 `Bad request: ...`, no help).
extension StrictMode {
    /// `max_points_count` and `max_collection_vector_size_bytes`, checked before the write
    /// (so the write that crosses a limit passes and the next is refused, as in Qdrant).
    func checkCollectionSize(_ c: Collection) throws {
        try checkPointCount(c)
        if let limit = count("max_collection_vector_size_bytes"), Self.vectorBytes(c) >= limit {
            throw APIError(status: .badRequest, message: "Bad request: Max vector storage size limit of \(Self.megabytes(limit))MB reached!")
        }
    }

    /// Qdrant's estimate of a collection's vector storage: 4 bytes a dimension for each live
    /// point, over its dense vectors (a multivector counted as one vector of its dimension;
    /// hsdb keeps no per-point count of them, and sparse vectors are left out).
    static func vectorBytes(_ c: Collection) -> Int {
        let placeholder = c.config.attributes[VectorNaming.placeholderKey] != nil
        let dimensions = (placeholder ? 0 : c.config.dimension) + c.config.namedVectors.reduce(0) { $0 + $1.dimension }
        return c.count() * dimensions * MemoryLayout<Float>.size
    }

    /// `sparse_config.{name}.max_length` and `multivector_config.{name}.max_vectors` over the
    /// points written.
    func checkVectorLengths(_ c: Collection, sparse: [[String: SparseVector]], named: [[String: [Float]]]) throws {
        if let limits = perVectorLimits("sparse_config", "max_length") {
            for vectors in sparse {
                for (name, v) in vectors {
                    guard let limit = limits[name], v.indices.count > limit else { continue }
                    throw APIError(
                        status: .badRequest, message: "Bad request: Sparse vector '\(name)' has a limit of \(limit) indices, but \(v.indices.count) were provided!")
                }
            }
        }
        if let limits = perVectorLimits("multivector_config", "max_vectors") {
            for vectors in named {
                for (name, v) in vectors {
                    guard let limit = limits[name], let lane = c.config.lane(of: name) else { continue }
                    let dimension = c.config.namedVectors[lane - 1].dimension
                    let n = dimension > 0 ? v.count / dimension : 0
                    guard n > limit else { continue }
                    throw APIError(
                        status: .badRequest, message: "Bad request: Multivector '\(name)' has a limit of \(limit) vectors, but \(n) were provided!")
                }
            }
        }
    }

    private func perVectorLimits(_ key: String, _ field: String) -> [String: Int]? {
        guard case .object(let names)? = values[key] else { return nil }
        var out: [String: Int] = [:]
        for (name, v) in names {
            if case .object(let o) = v, case .int(let n)? = o[field] { out[name] = Int(n) }
        }
        return out.isEmpty ? nil : out
    }

    /// As Rust prints `bytes as f32 / (1024.0 * 1024.0)`: the shortest digits, never an exponent.
    static func megabytes(_ bytes: Int) -> String {
        let mb = Float(bytes) / (1024 * 1024)
        let text = "\(mb)"
        guard text.contains("e") else { return text.hasSuffix(".0") ? String(text.dropLast(2)) : text }
        return String(format: "%.12f", Double(mb)).replacingOccurrences(of: "0+$", with: "", options: .regularExpression)
    }
}
