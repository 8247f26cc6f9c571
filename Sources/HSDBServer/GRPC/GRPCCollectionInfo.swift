import GRPCCore
import HSDBCore
import QdrantAPI

/// REST's collection info (`GET /collections/{name}`) as the `CollectionInfo` message.
enum GRPCCollectionInfo {
    static func info(from r: JSONValue) throws -> Qdrant_CollectionInfo {
        var info = Qdrant_CollectionInfo()
        let statuses: [String: Qdrant_CollectionStatus] = ["green": .green, "yellow": .yellow, "red": .red, "grey": .grey]
        if case .string(let s)? = GRPCJSON.field(r, "status") { info.status = statuses[s] ?? .unknownCollectionStatus }
        switch GRPCJSON.field(r, "optimizer_status") {
        case .object(let o)?:
            info.optimizerStatus.ok = false
            if case .string(let e)? = o["error"] { info.optimizerStatus.error = e }
        default: info.optimizerStatus.ok = true
        }
        info.segmentsCount = GRPCJSON.uint(GRPCJSON.field(r, "segments_count")) ?? 0
        if let n = GRPCJSON.uint(GRPCJSON.field(r, "points_count")) { info.pointsCount = n }
        if let n = GRPCJSON.uint(GRPCJSON.field(r, "indexed_vectors_count")) { info.indexedVectorsCount = n }
        if let queue = GRPCJSON.field(r, "update_queue") { info.updateQueue.length = GRPCJSON.uint(GRPCJSON.field(queue, "length")) ?? 0 }
        if case .object(let schema)? = GRPCJSON.field(r, "payload_schema") { info.payloadSchema = schema.mapValues(payloadSchema) }
        if let config = GRPCJSON.field(r, "config") { info.config = try self.config(config) }
        return info
    }

    static func payloadSchema(_ v: JSONValue) -> Qdrant_PayloadSchemaInfo {
        var s = Qdrant_PayloadSchemaInfo()
        let types: [String: Qdrant_PayloadSchemaType] = [
            "keyword": .keyword, "integer": .integer, "float": .float, "geo": .geo, "text": .text, "bool": .bool,
            "datetime": .datetime, "uuid": .uuid,
        ]
        if case .string(let t)? = GRPCJSON.field(v, "data_type") { s.dataType = types[t] ?? .unknownType }
        if let n = GRPCJSON.uint(GRPCJSON.field(v, "points")) { s.points = n }
        return s
    }

    static func config(_ c: JSONValue) throws -> Qdrant_CollectionConfig {
        var config = Qdrant_CollectionConfig()
        if let p = GRPCJSON.field(c, "params") { config.params = try params(p) }
        if let h = GRPCJSON.field(c, "hnsw_config") { config.hnswConfig = hnsw(h) }
        if let o = GRPCJSON.field(c, "optimizer_config") {
            var d = Qdrant_OptimizersConfigDiff()
            if let x = GRPCJSON.double(GRPCJSON.field(o, "deleted_threshold")) { d.deletedThreshold = x }
            if let x = GRPCJSON.uint(GRPCJSON.field(o, "vacuum_min_vector_number")) { d.vacuumMinVectorNumber = x }
            if let x = GRPCJSON.uint(GRPCJSON.field(o, "default_segment_number")) { d.defaultSegmentNumber = x }
            if let x = GRPCJSON.uint(GRPCJSON.field(o, "max_segment_size")) { d.maxSegmentSize = x }
            if let x = GRPCJSON.uint(GRPCJSON.field(o, "memmap_threshold")) { d.memmapThreshold = x }
            if let x = GRPCJSON.uint(GRPCJSON.field(o, "indexing_threshold")) { d.indexingThreshold = x }
            d.flushIntervalSec = GRPCJSON.uint(GRPCJSON.field(o, "flush_interval_sec")) ?? 0
            config.optimizerConfig = d
        }
        if let w = GRPCJSON.field(c, "wal_config") {
            if let x = GRPCJSON.uint(GRPCJSON.field(w, "wal_capacity_mb")) { config.walConfig.walCapacityMb = x }
            if let x = GRPCJSON.uint(GRPCJSON.field(w, "wal_segments_ahead")) { config.walConfig.walSegmentsAhead = x }
            if let x = GRPCJSON.uint(GRPCJSON.field(w, "wal_retain_closed")) { config.walConfig.walRetainClosed = x }
        }
        if let q = GRPCJSON.message(Qdrant_QuantizationConfig.self, from: GRPCJSON.field(c, "quantization_config")) {
            config.quantizationConfig = q
        }
        if let s = GRPCJSON.message(Qdrant_StrictModeConfig.self, from: GRPCJSON.field(c, "strict_mode_config")) {
            config.strictModeConfig = s
        }
        if case .object(let metadata)? = GRPCJSON.field(c, "metadata") { config.metadata = metadata.mapValues(GRPCValues.value) }
        return config
    }

    static func params(_ p: JSONValue) throws -> Qdrant_CollectionParams {
        var params = Qdrant_CollectionParams()
        params.shardNumber = UInt32(clamping: GRPCJSON.uint(GRPCJSON.field(p, "shard_number")) ?? 1)
        if case .bool(let b)? = GRPCJSON.field(p, "on_disk_payload") { params.onDiskPayload = b }
        if let n = GRPCJSON.uint(GRPCJSON.field(p, "replication_factor")) { params.replicationFactor = UInt32(clamping: n) }
        if let n = GRPCJSON.uint(GRPCJSON.field(p, "write_consistency_factor")) { params.writeConsistencyFactor = UInt32(clamping: n) }
        if case .object(let sparse)? = GRPCJSON.field(p, "sparse_vectors"), !sparse.isEmpty {
            params.sparseVectorsConfig.map = sparse.mapValues { v in
                var s = Qdrant_SparseVectorParams()
                if case .string(let m)? = GRPCJSON.field(v, "modifier") { s.modifier = m == "idf" ? .idf : .none }
                return s
            }
        }
        switch GRPCJSON.field(p, "vectors") {
        case .object(let o)? where o["size"] != nil:
            params.vectorsConfig.params = try vector(.object(o))
        case .object(let o)?:
            var map = Qdrant_VectorParamsMap()
            map.map = try o.mapValues(vector)
            params.vectorsConfig.paramsMap = map
        default: break
        }
        return params
    }

    static func vector(_ v: JSONValue) throws -> Qdrant_VectorParams {
        var p = Qdrant_VectorParams()
        p.size = GRPCJSON.uint(GRPCJSON.field(v, "size")) ?? 0
        let distances: [String: Qdrant_Distance] = ["Cosine": .cosine, "Euclid": .euclid, "Dot": .dot, "Manhattan": .manhattan]
        if case .string(let d)? = GRPCJSON.field(v, "distance") { p.distance = distances[d] ?? .unknownDistance }
        if case .bool(let b)? = GRPCJSON.field(v, "on_disk") { p.onDisk = b }
        if let h = GRPCJSON.field(v, "hnsw_config"), h != .null { p.hnswConfig = hnsw(h) }
        if let q = GRPCJSON.message(Qdrant_QuantizationConfig.self, from: GRPCJSON.field(v, "quantization_config")) {
            p.quantizationConfig = q
        }
        let datatypes: [String: Qdrant_Datatype] = ["float32": .float32, "uint8": .uint8, "float16": .float16]
        if case .string(let d)? = GRPCJSON.field(v, "datatype") { p.datatype = datatypes[d] ?? .default }
        if let m = GRPCJSON.field(v, "multivector_config"), m != .null { p.multivectorConfig = Qdrant_MultiVectorConfig() }
        return p
    }

    static func hnsw(_ h: JSONValue) -> Qdrant_HnswConfigDiff {
        var d = Qdrant_HnswConfigDiff()
        if let x = GRPCJSON.uint(GRPCJSON.field(h, "m")) { d.m = x }
        if let x = GRPCJSON.uint(GRPCJSON.field(h, "ef_construct")) { d.efConstruct = x }
        if let x = GRPCJSON.uint(GRPCJSON.field(h, "full_scan_threshold")) { d.fullScanThreshold = x }
        if let x = GRPCJSON.uint(GRPCJSON.field(h, "max_indexing_threads")) { d.maxIndexingThreads = x }
        if case .bool(let b)? = GRPCJSON.field(h, "on_disk") { d.onDisk = b }
        if let x = GRPCJSON.uint(GRPCJSON.field(h, "payload_m")) { d.payloadM = x }
        return d
    }
}
