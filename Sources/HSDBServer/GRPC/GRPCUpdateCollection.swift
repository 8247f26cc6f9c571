import GRPCCore
import HSDBCore
import QdrantAPI

/// `UpdateCollection` as the body of REST's `PATCH /collections/{name}`.
enum GRPCUpdateCollection {
    static func body(of m: Qdrant_UpdateCollection) throws -> JSONValue {
        try GRPCJSON.refuseUnknownFields(m)
        var o: [String: JSONValue] = [:]
        if m.hasOptimizersConfig { o["optimizers_config"] = try GRPCCreateCollection.optimizers(m.optimizersConfig) }
        if m.hasParams { o["params"] = try GRPCJSON.restShape(m.params) }
        if m.hasHnswConfig { o["hnsw_config"] = try GRPCCreateCollection.hnsw(m.hnswConfig) }
        if m.hasVectorsConfig {
            switch m.vectorsConfig.config {
            case .params(let p)?: o["vectors"] = ["": try vector(p)]
            case .paramsMap(let map)?: o["vectors"] = .object(try map.map.mapValues(vector))
            case nil: throw GRPCValues.invalid("vectors_config sets neither params nor params_map")
            }
        }
        if m.hasQuantizationConfig { o["quantization_config"] = try quantization(m.quantizationConfig) }
        if m.hasSparseVectorsConfig { o["sparse_vectors"] = try GRPCCreateCollection.sparse(m.sparseVectorsConfig) }
        if m.hasStrictModeConfig { o["strict_mode_config"] = try GRPCJSON.restShape(m.strictModeConfig) }
        if !m.metadata.isEmpty { o["metadata"] = GRPCValues.json(m.metadata) }
        return .object(o)
    }

    static func vector(_ p: Qdrant_VectorParamsDiff) throws -> JSONValue {
        var o: [String: JSONValue] = [:]
        if p.hasHnswConfig { o["hnsw_config"] = try GRPCCreateCollection.hnsw(p.hnswConfig) }
        if p.hasQuantizationConfig { o["quantization_config"] = try quantization(p.quantizationConfig) }
        if p.hasOnDisk { o["on_disk"] = .bool(p.onDisk) }
        if p.hasMemory { o["memory"] = .string(GRPCJSON.snakeCase("\(p.memory)")) }
        return .object(o)
    }

    /// A quantization change: one method, or `Disabled` (REST's string of the same name).
    static func quantization(_ q: Qdrant_QuantizationConfigDiff) throws -> JSONValue {
        if case .disabled? = q.quantization { return "Disabled" }
        return try GRPCJSON.restShape(q)
    }
}
