import GRPCCore
import HSDBCore
import QdrantAPI

/// `CreateCollection` as the body of REST's `PUT /collections/{name}`: the same checks and
/// messages then apply to both.
enum GRPCCreateCollection {
    static func body(of m: Qdrant_CreateCollection) throws -> JSONValue {
        try GRPCJSON.refuseUnknownFields(m)
        var o: [String: JSONValue] = [:]
        if m.hasVectorsConfig { o["vectors"] = try vectors(m.vectorsConfig) }
        if m.hasHnswConfig { o["hnsw_config"] = try hnsw(m.hnswConfig) }
        if m.hasWalConfig {
            try GRPCJSON.refuseUnknownFields(m.walConfig)
            var w: [String: JSONValue] = [:]
            if m.walConfig.hasWalCapacityMb { w["wal_capacity_mb"] = .int(Int64(clamping: m.walConfig.walCapacityMb)) }
            if m.walConfig.hasWalSegmentsAhead { w["wal_segments_ahead"] = .int(Int64(clamping: m.walConfig.walSegmentsAhead)) }
            if m.walConfig.hasWalRetainClosed { w["wal_retain_closed"] = .int(Int64(clamping: m.walConfig.walRetainClosed)) }
            o["wal_config"] = .object(w)
        }
        if m.hasOptimizersConfig { o["optimizers_config"] = try optimizers(m.optimizersConfig) }
        if m.hasShardNumber { o["shard_number"] = .int(Int64(m.shardNumber)) }
        if m.hasReplicationFactor { o["replication_factor"] = .int(Int64(m.replicationFactor)) }
        if m.hasWriteConsistencyFactor { o["write_consistency_factor"] = .int(Int64(m.writeConsistencyFactor)) }
        if m.hasOnDiskPayload { o["on_disk_payload"] = .bool(m.onDiskPayload) }
        if m.hasShardingMethod { o["sharding_method"] = .string(m.shardingMethod == .custom ? "custom" : "auto") }
        if m.hasSparseVectorsConfig { o["sparse_vectors"] = try sparse(m.sparseVectorsConfig) }
        if m.hasQuantizationConfig { o["quantization_config"] = try GRPCJSON.restShape(m.quantizationConfig) }
        if m.hasStrictModeConfig { o["strict_mode_config"] = try GRPCJSON.restShape(m.strictModeConfig) }
        if !m.metadata.isEmpty { o["metadata"] = GRPCValues.json(m.metadata) }
        return .object(o)
    }

    static func vectors(_ c: Qdrant_VectorsConfig) throws -> JSONValue {
        try GRPCJSON.refuseUnknownFields(c)
        switch c.config {
        case .params(let p)?: return try params(p)
        case .paramsMap(let m)?:
            try GRPCJSON.refuseUnknownFields(m)
            return .object(try m.map.mapValues(params))
        case nil: throw RPCError(code: .invalidArgument, message: "Bad request: vectors_config sets neither params nor params_map")
        }
    }

    static func params(_ p: Qdrant_VectorParams) throws -> JSONValue {
        try GRPCJSON.refuseUnknownFields(p)
        var o: [String: JSONValue] = ["size": .int(Int64(clamping: p.size)), "distance": .string(try distance(p.distance))]
        if p.hasHnswConfig { o["hnsw_config"] = try hnsw(p.hnswConfig) }
        if p.hasQuantizationConfig { o["quantization_config"] = try GRPCJSON.restShape(p.quantizationConfig) }
        if p.hasOnDisk { o["on_disk"] = .bool(p.onDisk) }
        if p.hasDatatype { o["datatype"] = .string(try datatype(p.datatype)) }
        if p.hasMultivectorConfig { o["multivector_config"] = .object(["comparator": .string("max_sim")]) }
        return .object(o)
    }

    static func distance(_ d: Qdrant_Distance) throws -> String {
        switch d {
        case .cosine: "Cosine"
        case .euclid: "Euclid"
        case .dot: "Dot"
        case .manhattan: "Manhattan"
        default: throw RPCError(code: .invalidArgument, message: "Bad request: unknown distance \(d.rawValue)")
        }
    }

    static func datatype(_ d: Qdrant_Datatype) throws -> String {
        switch d {
        case .default, .float32: "float32"
        case .uint8: "uint8"
        case .float16: "float16"
        default: throw RPCError(code: .invalidArgument, message: "Bad request: unknown datatype \(d.rawValue)")
        }
    }

    static func hnsw(_ h: Qdrant_HnswConfigDiff) throws -> JSONValue {
        try GRPCJSON.refuseUnknownFields(h)
        var o: [String: JSONValue] = [:]
        if h.hasM { o["m"] = .int(Int64(clamping: h.m)) }
        if h.hasEfConstruct { o["ef_construct"] = .int(Int64(clamping: h.efConstruct)) }
        if h.hasFullScanThreshold { o["full_scan_threshold"] = .int(Int64(clamping: h.fullScanThreshold)) }
        if h.hasMaxIndexingThreads { o["max_indexing_threads"] = .int(Int64(clamping: h.maxIndexingThreads)) }
        if h.hasOnDisk { o["on_disk"] = .bool(h.onDisk) }
        if h.hasPayloadM { o["payload_m"] = .int(Int64(clamping: h.payloadM)) }
        return .object(o)
    }

    static func optimizers(_ c: Qdrant_OptimizersConfigDiff) throws -> JSONValue {
        try GRPCJSON.refuseUnknownFields(c)
        var o: [String: JSONValue] = [:]
        if c.hasDeletedThreshold { o["deleted_threshold"] = .double(c.deletedThreshold) }
        let counts: [(String, Bool, UInt64)] = [
            ("vacuum_min_vector_number", c.hasVacuumMinVectorNumber, c.vacuumMinVectorNumber),
            ("default_segment_number", c.hasDefaultSegmentNumber, c.defaultSegmentNumber),
            ("max_segment_size", c.hasMaxSegmentSize, c.maxSegmentSize),
            ("memmap_threshold", c.hasMemmapThreshold, c.memmapThreshold),
            ("indexing_threshold", c.hasIndexingThreshold, c.indexingThreshold),
            ("flush_interval_sec", c.hasFlushIntervalSec, c.flushIntervalSec),
        ]
        for (key, present, value) in counts where present { o[key] = .int(Int64(clamping: value)) }
        return .object(o)
    }

    static func sparse(_ c: Qdrant_SparseVectorConfig) throws -> JSONValue {
        try GRPCJSON.refuseUnknownFields(c)
        return .object(try c.map.mapValues { p in
            try GRPCJSON.refuseUnknownFields(p)
            var o: [String: JSONValue] = [:]
            if p.hasModifier { o["modifier"] = .string(p.modifier == .idf ? "idf" : "none") }
            if p.hasIndex {
                try GRPCJSON.refuseUnknownFields(p.index)
                var i: [String: JSONValue] = [:]
                if p.index.hasFullScanThreshold { i["full_scan_threshold"] = .int(Int64(clamping: p.index.fullScanThreshold)) }
                if p.index.hasOnDisk { i["on_disk"] = .bool(p.index.onDisk) }
                if p.index.hasDatatype { i["datatype"] = .string(try datatype(p.index.datatype)) }
                o["index"] = .object(i)
            }
            return .object(o)
        })
    }
}
