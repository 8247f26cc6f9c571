import HSDBCore
import QdrantAPI

/// Vectors between Qdrant's messages and the REST API's JSON: a dense vector is an array, a
/// sparse one `{"indices", "values"}`, a multi-vector an array of arrays.
enum GRPCVectors {
    static func json(_ v: Qdrant_Vector) throws -> JSONValue {
        switch v.vector {
        case .dense(let d)?: return floats(d.data)
        case .sparse(let s)?: return sparse(indices: s.indices, values: s.values)
        case .multiDense(let m)?: return .array(m.vectors.map { floats($0.data) })
        case .document?, .image?, .object?: throw inference
        case nil:
            // The deprecated flat form older clients send: `data`, with `indices` (sparse) or
            // `vectors_count` (a multi-vector's rows).
            if v.hasIndices { return sparse(indices: v.indices.data, values: v.data) }
            if v.hasVectorsCount { return try rows(v.data, count: Int(v.vectorsCount)) }
            return floats(v.data)
        }
    }

    /// A point's vectors: one unnamed vector, or vectors by name.
    static func json(_ v: Qdrant_Vectors) throws -> JSONValue {
        switch v.vectorsOptions {
        case .vector(let one)?: return try json(one)
        case .vectors(let named)?: return .object(try named.vectors.mapValues(json))
        case nil: throw GRPCValues.invalid("`vectors` sets neither `vector` nor `vectors`")
        }
    }

    /// A query's vector: a point id (its vector), or a vector.
    static func json(_ v: Qdrant_VectorInput) throws -> JSONValue {
        switch v.variant {
        case .id(let id)?: return try GRPCValues.id(id)
        case .dense(let d)?: return floats(d.data)
        case .sparse(let s)?: return sparse(indices: s.indices, values: s.values)
        case .multiDense(let m)?: return .array(m.vectors.map { floats($0.data) })
        case .document?, .image?, .object?: throw inference
        case nil: throw GRPCValues.invalid("a vector input sets none of its kinds")
        }
    }

    /// A point's vectors in a reply: REST's `vector` field (an array or vectors by name).
    static func output(_ j: JSONValue?) -> Qdrant_VectorsOutput? {
        switch j {
        case .array?:
            return .with { $0.vector = one(j!) }
        case .object(let named)?:
            return .with { $0.vectors = .with { $0.vectors = named.mapValues(one) } }
        default:
            return nil
        }
    }

    static func one(_ j: JSONValue) -> Qdrant_VectorOutput {
        var out = Qdrant_VectorOutput()
        switch j {
        case .array(let a) where a.first.map({ if case .array = $0 { true } else { false } }) ?? false:
            out.multiDense = .with { m in m.vectors = a.map { row in .with { $0.data = numbers(row) } } }
        case .array:
            out.dense = .with { $0.data = numbers(j) }
        case .object(let o):
            out.sparse = .with { s in
                s.indices = numbers(o["indices"]).map { UInt32(clamping: Int64($0)) }
                s.values = numbers(o["values"])
            }
        default:
            break
        }
        return out
    }

    static func floats(_ data: [Float]) -> JSONValue { .array(data.map { .double(Double($0)) }) }

    static func numbers(_ j: JSONValue?) -> [Float] {
        guard case .array(let a)? = j else { return [] }
        return a.map { Float(GRPCJSON.double($0) ?? 0) }
    }

    static func sparse(indices: [UInt32], values: [Float]) -> JSONValue {
        ["indices": .array(indices.map { .int(Int64($0)) }), "values": floats(values)]
    }

    static func rows(_ data: [Float], count: Int) throws -> JSONValue {
        guard count > 0, data.count % count == 0 else {
            throw GRPCValues.invalid("a multi-vector of \(data.count) numbers does not split into \(count) vectors")
        }
        let width = data.count / count
        return .array((0..<count).map { floats(Array(data[$0 * width..<($0 + 1) * width])) })
    }

    static var inference: Error {
        GRPCValues.invalid("hsdb does not run inference models (documents, images, objects); send vectors")
    }
}
