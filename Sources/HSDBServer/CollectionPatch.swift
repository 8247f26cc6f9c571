import HSDB
import HSDBCore

/// `PATCH /collections/{c}` (Qdrant's `UpdateCollection`): what a live collection can change.
/// HNSW parameters (the collection's and each vector's) take effect at the next flush or merge
/// (segments already written keep their graphs); a sparse vector's `modifier` at the next
/// query; the rest (quantization, `on_disk`, `memory`, `params`, optimizer settings, strict
/// mode, metadata) is kept in the attributes and reported back as Qdrant reports it. The
/// whole change is checked before anything is written, then applied at once, durably.
enum CollectionPatch {
    static let keys: Set<String> = [
        "vectors", "optimizers_config", "params", "hnsw_config", "quantization_config", "sparse_vectors", "strict_mode_config", "metadata",
    ]
    static let vectorKeys: Set<String> = ["hnsw_config", "quantization_config", "on_disk", "memory"]
    static let paramsKeys: Set<String> = [
        "replication_factor", "write_consistency_factor", "read_fan_out_factor", "read_fan_out_delay_ms", "on_disk_payload", "payload",
    ]

    static func apply(_ c: Collection, _ given: JSONFields) async throws {
        var values = given.values
        for (alias, key) in CollectionSpec.createAliases where values[alias] != nil && values[key] == nil {
            values[key] = values.removeValue(forKey: alias)
        }
        let body = try JSONFields(.object(values), path: given.path)
        for key in body.values.keys.sorted() where !keys.contains(key) {
            throw APIError.format("unknown field `\(key)`, expected one of \(keys.sorted().map { "`\($0)`" }.joined(separator: ", "))")
        }
        try await c.updateSettings { config in try patch(&config, body) }
    }

    static func patch(_ config: inout CollectionConfig, _ body: JSONFields) throws {
        var a = config.attributes
        var hnswChanged = false
        if let vectors = try body.object("vectors") {
            for (name, value) in vectors.values.sorted(by: { $0.key < $1.key }) {
                let diff = try JSONFields(value, path: vectors.fieldPath(name))
                hnswChanged = try patchVector(name, diff, &a, config) || hnswChanged
            }
        }
        if let hnsw = try body.object("hnsw_config") {
            try CollectionSpec.checkHNSW(hnsw)
            a["hnsw_config"] = .object(merged(a["hnsw_config"], hnsw.values))
            hnswChanged = true
        }
        if let q = body["quantization_config"] { a["quantization_config"] = try quantization(q, path: "quantization_config") }
        if let params = try body.object("params") { try patchParams(params, &a) }
        if let sparse = try body.object("sparse_vectors") { try patchSparse(sparse, &config, &a) }
        if let strict = body["strict_mode_config"] {
            guard case .object(let stored) = a[StrictMode.attributeKey] ?? .object([:]) else { throw APIError.wrongInput("strict mode") }
            a[StrictMode.attributeKey] = .object(try StrictMode.merged(stored, strict, path: "strict_mode_config"))
        }
        if let o = try CollectionSpec.settings(body, "optimizers_config", CollectionSpec.optimizerKeys) {
            a["optimizers_config"] = .object(merged(a["optimizers_config"], o))
        }
        if let given = body["metadata"] {  // merged key by key, as Qdrant does; `null` removes one
            guard case .object(let o) = given else { throw JSONFields.typeError("metadata", "an object", given) }
            a["metadata"] = .object(merged(a["metadata"], o).filter { $0.value != .null })
        }
        config.attributes = a
        if hnswChanged { try applyHNSW(&config) }
    }

    /// One dense vector's `VectorParamsDiff`; true if its HNSW parameters changed.
    static func patchVector(_ name: String, _ diff: JSONFields, _ a: inout Payload, _ config: CollectionConfig) throws -> Bool {
        for key in diff.values.keys.sorted() where !vectorKeys.contains(key) { throw APIError.format("\(diff.fieldPath(key)): unknown field") }
        let slot = try VectorParamsSlot(name, a, config)
        var params = slot.read(a)
        if let hnsw = try diff.object("hnsw_config") {
            try CollectionSpec.checkHNSW(hnsw)
            // `{}` unsets the vector's own HNSW parameters (Qdrant's VectorParamsDiff).
            if hnsw.values.isEmpty { params["hnsw_config"] = nil } else { params["hnsw_config"] = .object(merged(params["hnsw_config"], hnsw.values)) }
        }
        if let q = diff["quantization_config"] {
            let value = try quantization(q, path: diff.fieldPath("quantization_config"))
            params["quantization_config"] = value == .null ? nil : value
        }
        if let onDisk = try diff.bool("on_disk") { params["on_disk"] = .bool(onDisk) }
        if let memory = try CollectionSpec.memory(diff, pinned: "dense vector storage") { params["memory"] = .string(memory) }
        slot.write(params, &a)
        return diff.has("hnsw_config")
    }

    /// Qdrant's `QuantizationConfigDiff`: one method, or `"Disabled"` (stored as null: none).
    static func quantization(_ value: JSONValue, path: String) throws -> JSONValue {
        if value == .string("Disabled") { return .null }
        try CollectionSpec.checkQuantization(try JSONFields(value, path: path))
        return value
    }

    /// `params`: Qdrant's `CollectionParamsDiff`. One copy is kept per server here, so a
    /// replication factor other than 1 is refused; read fan-out is accepted and reported (with
    /// one copy there is nothing to fan out to, as in a single-node Qdrant).
    static func patchParams(_ params: JSONFields, _ a: inout Payload) throws {
        for key in params.values.keys.sorted() where !paramsKeys.contains(key) { throw APIError.format("\(params.fieldPath(key)): unknown field") }
        if let factor = try CollectionSpec.positiveU32(params, "replication_factor"), factor != 1 {
            throw APIError.unsupported("replication_factor \(factor) (one copy per server; followers replicate whole servers)")
        }
        if let factor = try CollectionSpec.positiveU32(params, "write_consistency_factor") { a["write_consistency_factor"] = .int(Int64(factor)) }
        for key in ["read_fan_out_factor", "read_fan_out_delay_ms"] {
            if let n = try params.count(key) { a[key] = .int(Int64(n)) }
        }
        if let onDisk = try params.bool("on_disk_payload") { a["on_disk_payload"] = .bool(onDisk) }
        if let payload = try params.object("payload") { a["payload"] = .object(merged(a["payload"], try CollectionSpec.payloadStorage(payload))) }
    }

    /// `sparse_vectors`: each named one's index settings (merged) and modifier.
    static func patchSparse(_ sparse: JSONFields, _ config: inout CollectionConfig, _ a: inout Payload) throws {
        guard case .object(var stored) = a["sparse_vectors"] ?? .object([:]) else { throw APIError.wrongInput("sparse_vectors") }
        for (name, value) in sparse.values.sorted(by: { $0.key < $1.key }) {
            guard config.sparseVectors[name] != nil else { throw VectorNaming.notExisting(name) }
            let diff = try JSONFields(value, path: sparse.fieldPath(name))
            let checked = try CollectionSpec.sparseParameters(diff)
            guard case .object(var given) = stored[name] ?? .object([:]) else { throw APIError.wrongInput("sparse_vectors") }
            if case .object(let index)? = diff["index"] { given["index"] = .object(merged(given["index"], index)) }
            if let modifier = diff["modifier"] {
                given["modifier"] = modifier
                config.sparseVectors[name] = checked
            }
            stored[name] = .object(given)
        }
        a["sparse_vectors"] = .object(stored)
    }

    /// Every dense vector's graph parameters from its own `hnsw_config` over the collection's
    /// over Qdrant's defaults (m 16, ef_construct 100), as at creation.
    static func applyHNSW(_ config: inout CollectionConfig) throws {
        let collection = try config.attributes["hnsw_config"].map { try JSONFields($0, path: "hnsw_config") }
        let naming = VectorNaming(config)
        if config.attributes[VectorNaming.placeholderKey] != .bool(true) {
            let own = try VectorParamsSlot(naming.name, config.attributes, config).hnsw(config.attributes)
            (config.hnswM, config.hnswEfConstruction) = try CollectionSpec.hnsw(collection: collection, vector: own)
        }
        for i in config.namedVectors.indices {
            let own = try VectorParamsSlot(config.namedVectors[i].name, config.attributes, config).hnsw(config.attributes)
            (config.namedVectors[i].hnswM, config.namedVectors[i].hnswEfConstruction) = try CollectionSpec.hnsw(collection: collection, vector: own)
        }
    }

    /// `base` (an object, or nothing) with `changes` over it.
    static func merged(_ base: JSONValue?, _ changes: Payload) -> Payload {
        guard case .object(let o)? = base else { return changes }
        return o.merging(changes) { $1 }
    }
}

/// Where a dense vector's parameters as given live in the attributes: the first vector's in
/// `vectors`, a further one's in `named_vectors[name]`.
struct VectorParamsSlot {
    let lane: String?

    init(_ name: String, _ a: Payload, _ config: CollectionConfig) throws {
        let naming = VectorNaming(config)
        if name == naming.name, a[VectorNaming.placeholderKey] != .bool(true) {
            lane = nil
        } else if naming.laneNames.contains(name) {
            lane = name
        } else {
            throw VectorNaming.notExisting(name)
        }
    }

    func read(_ a: Payload) -> Payload {
        guard let lane else { if case .object(let p)? = a["vectors"] { return p } else { return [:] } }
        guard case .object(let all)? = a["named_vectors"], case .object(let p)? = all[lane] else { return [:] }
        return p
    }

    func write(_ params: Payload, _ a: inout Payload) {
        guard let lane else { return a["vectors"] = .object(params) }
        var all: Payload = [:]
        if case .object(let o)? = a["named_vectors"] { all = o }
        all[lane] = .object(params)
        a["named_vectors"] = .object(all)
    }

    func hnsw(_ a: Payload) throws -> JSONFields? {
        try read(a)["hnsw_config"].map { try JSONFields($0, path: "hnsw_config") }
    }
}
