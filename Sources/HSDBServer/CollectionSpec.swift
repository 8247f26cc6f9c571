import HSDB
import HSDBCore
import Index

/// A `PUT /collections/{name}` body turned into the engine's configuration. What the engine
/// does not use but Qdrant reports back (the vectors object as given, hnsw, quantization,
/// metadata) is kept in the collection's attributes and echoed by `GET /collections/{name}`.
enum CollectionSpec {
    static let vectorParamKeys: Set<String> = [
        "size", "distance", "hnsw_config", "quantization_config", "on_disk", "memory", "datatype", "multivector_config",
    ]

    /// The fields of Qdrant's `CreateCollection`; anything else is refused, not ignored.
    static let createKeys: Set<String> = [
        "vectors", "sparse_vectors", "shard_number", "sharding_method", "replication_factor", "write_consistency_factor",
        "on_disk_payload", "hnsw_config", "wal_config", "optimizers_config", "quantization_config", "strict_mode_config",
        "metadata", "init_from", "payload",
    ]
    static let hnswKeys: Set<String> = [
        "m", "ef_construct", "full_scan_threshold", "max_indexing_threads", "on_disk", "memory", "payload_m", "inline_storage",
    ]
    /// Optimizer and WAL settings change when and how hsdb's own flushes and merges run, never
    /// an answer: they are checked, kept and reported back as given (DESIGN.md, "HTTP API").
    static let optimizerKeys: [String: @Sendable (JSONValue) -> Bool] = [
        "deleted_threshold": isNumber, "vacuum_min_vector_number": isCount, "default_segment_number": isCount,
        "max_segment_size": isCountOrNull, "memmap_threshold": isCountOrNull, "indexing_threshold": isCountOrNull,
        "flush_interval_sec": isCount, "max_optimization_threads": isCountOrNull, "prevent_unoptimized": isBoolOrNull,
    ]
    static let walKeys: [String: @Sendable (JSONValue) -> Bool] = ["wal_capacity_mb": isCount, "wal_segments_ahead": isCount, "wal_retain_closed": isCount]

    static func isNumber(_ v: JSONValue) -> Bool { if case .int = v { true } else if case .double = v { true } else { false } }
    static func isCount(_ v: JSONValue) -> Bool { if case .int(let n) = v { n >= 0 } else { false } }
    static func isCountOrNull(_ v: JSONValue) -> Bool { v == .null || isCount(v) }
    static func isBoolOrNull(_ v: JSONValue) -> Bool { if case .bool = v { true } else { v == .null } }

    /// `optimizers_config` or `wal_config`: known fields of the right type, as given.
    static func settings(_ body: JSONFields, _ key: String, _ known: [String: @Sendable (JSONValue) -> Bool]) throws -> Payload? {
        guard let o = try body.object(key) else { return nil }
        for (field, value) in o.values.sorted(by: { $0.key < $1.key }) {
            guard let check = known[field] else {
                throw APIError.format("\(o.path): unknown field `\(field)`, expected one of \(known.keys.sorted().map { "`\($0)`" }.joined(separator: ", "))")
            }
            guard check(value) else { throw JSONFields.typeError(o.fieldPath(field), "a value of Qdrant's type for it", value) }
        }
        if key == "optimizers_config", o["prevent_unoptimized"] == .bool(true) {
            throw APIError.unsupported("optimizers_config.prevent_unoptimized: true (hsdb serves new points before they are indexed)")
        }
        return o.values
    }

    /// Other names Qdrant's `CreateCollection` takes for its fields (serde aliases).
    static let createAliases = ["quantization": "quantization_config", "optimizer_config": "optimizers_config"]

    static func config(from given: JSONFields) throws -> CollectionConfig {
        var values = given.values
        for (alias, key) in createAliases where values[alias] != nil && values[key] == nil { values[key] = values.removeValue(forKey: alias) }
        let body = try JSONFields(.object(values), path: given.path)
        for key in body.values.keys.sorted() where !createKeys.contains(key) {
            throw APIError.format("unknown field `\(key)`, expected one of \(createKeys.sorted().map { "`\($0)`" }.joined(separator: ", "))")
        }
        if body.has("init_from") { throw APIError.unsupported("init_from") }
        if let method = try body.string("sharding_method"), method != "auto" { throw APIError.unsupported("sharding_method `\(method)`") }
        // No `vectors` (a collection of sparse vectors only) reads as no named dense vectors.
        let sparse = try sparseVectors(body)
        let vectors = try JSONFields(body["vectors"] ?? .object([:]), path: "vectors")
        let named = !vectors.values.keys.contains("size")
        var specs = try (named ? vectors.values.keys.sorted() : [""]).map { name in
            try denseSpec(named ? try JSONFields(vectors[name]!, path: "vectors[\"\(name)\"]") : vectors, name: name, body: body)
        }
        // The engine's first dense vector is a plain one (multivectors are further vectors): a
        // collection of multivectors or sparse vectors only gets a placeholder first vector no
        // point carries.
        let placeholder = !specs.contains { !$0.multivector }
        if placeholder {
            specs.insert(DenseSpec(name: VectorNaming.placeholderName, params: try JSONFields(.object([:]), path: ""), dimension: 1, metric: .dot), at: 0)
        } else if let plain = specs.firstIndex(where: { !$0.multivector }) {
            specs.insert(specs.remove(at: plain), at: 0)
        }
        let first = specs[0]
        let (vectorName, params) = (first.name, first.params)
        var config = CollectionConfig(dimension: first.dimension, metric: first.metric, hnswM: first.m, hnswEfConstruction: first.ef)
        config.namedVectors = specs.dropFirst().map {
            NamedVectorConfig(
                name: $0.name, dimension: $0.dimension, metric: $0.metric, hnswM: $0.m, hnswEfConstruction: $0.ef, multivector: $0.multivector)
        }
        config.sparseVectors = sparse.parameters
        if let name = sparse.parameters.keys.sorted().first(where: { n in specs.contains { $0.name == n } }) {
            throw APIError.wrongInput("Dense and sparse vector names must be unique - duplicate found with '\(name)'")
        }
        for q in try ([body.object("quantization_config")] + specs.map { try $0.params.object("quantization_config") }).compactMap({ $0 }) {
            try checkQuantization(q)
        }
        var attributes: Payload = ["vectors_named": .bool(named), "vectors": .object(params.values)]
        if let payload = try body.object("payload") { attributes["payload"] = .object(try payloadStorage(payload)) }
        if placeholder { attributes[VectorNaming.placeholderKey] = .bool(true) }
        if specs.count > 1 { attributes["named_vectors"] = .object(Dictionary(uniqueKeysWithValues: specs.dropFirst().map { ($0.name, .object($0.params.values)) })) }
        if !vectorName.isEmpty { attributes[VectorNaming.attributeKey] = .string(vectorName) }
        if !sparse.given.isEmpty { attributes["sparse_vectors"] = .object(sparse.given) }
        for key in ["hnsw_config", "quantization_config", "metadata", "on_disk_payload"] {
            if let v = body[key] { attributes[key] = v }
        }
        if let strict = body["strict_mode_config"] {
            attributes[StrictMode.attributeKey] = .object(try StrictMode.merged([:], strict, path: "strict_mode_config"))
        }
        if let o = try settings(body, "optimizers_config", optimizerKeys) { attributes["optimizers_config"] = .object(o) }
        if let o = try settings(body, "wal_config", walKeys) { attributes["wal_config"] = .object(o) }
        if let factor = try writeConsistencyFactor(body) { attributes["write_consistency_factor"] = .int(Int64(factor)) }
        // One shard, one copy here (replication is per server, DESIGN.md "Replication"); the
        // values are still validated as Qdrant does.
        for key in ["shard_number", "replication_factor"] { _ = try positiveU32(body, key) }
        config.attributes = attributes
        return config
    }

    /// One dense vector's parameters as given (`params`), checked.
    struct DenseSpec {
        let name: String
        let params: JSONFields
        let dimension: Int
        let metric: Metric
        var m = 16
        /// Qdrant's default `ef_construct` is 100 (the embedded engine's is 200).
        var ef = 100
        /// `multivector_config: {"comparator": "max_sim"}`.
        var multivector = false
    }

    /// `{"size", "distance", "hnsw_config", ...}` of the dense vector `name`; the collection's
    /// `hnsw_config`, then the vector's own, which Qdrant lets override it.
    static func denseSpec(_ params: JSONFields, name: String, body: JSONFields) throws -> DenseSpec {
        for key in params.values.keys where !vectorParamKeys.contains(key) { throw APIError.format("\(params.path): unknown field `\(key)`") }
        let multivector = try params.object("multivector_config")
        if let multivector {
            for key in multivector.values.keys.sorted() where key != "comparator" { throw APIError.format("\(multivector.fieldPath(key)): unknown field") }
            guard let comparator = try multivector.string("comparator") else { throw APIError.format("\(multivector.path): missing field `comparator`") }
            guard comparator == "max_sim" else {
                throw APIError.format("\(multivector.fieldPath("comparator")): unknown variant `\(comparator)`, expected `max_sim`")
            }
        }
        switch try params.string("datatype") {
        // Storage hints: hsdb keeps every vector as float32, so answers are at full precision.
        case nil, "float32", "float16", "turbo4": break
        case "uint8": throw APIError.unsupported("datatype `uint8`")
        case let other?: throw APIError.format("\(params.fieldPath("datatype")): unknown variant `\(other)`, expected one of `float32`, `float16`, `uint8`, `turbo4`")
        }
        guard let sizeValue = params["size"] else { throw APIError.format("\(params.path): missing field `size`") }
        guard case .int(let size) = sizeValue, (1...Int64(Limits.maxDimension)).contains(size) else {
            if case .int(let bad) = sizeValue, bad >= 0 {
                throw APIError.validation("\(params.path).size", "value \(bad) invalid, must be from 1 to \(Limits.maxDimension)")
            }
            throw JSONFields.typeError(params.fieldPath("size"), "a non-negative integer", sizeValue)
        }
        guard let distance = try params.string("distance") else { throw APIError.format("\(params.path): missing field `distance`") }
        let metric: Metric
        switch distance {
        case "Cosine": metric = .cosine
        case "Dot": metric = .dot
        case "Euclid": metric = .euclidean
        case "Manhattan": throw APIError.unsupported("distance Manhattan")
        default: throw APIError.format("\(params.path).distance: unknown variant `\(distance)`, expected one of `Cosine`, `Euclid`, `Dot`, `Manhattan`")
        }
        guard name.utf8.count <= 255 else { throw APIError.wrongInput("vector names must be at most 255 bytes") }
        var spec = DenseSpec(name: name, params: params, dimension: Int(size), metric: metric)
        spec.multivector = multivector != nil
        (spec.m, spec.ef) = try hnsw(collection: try body.object("hnsw_config"), vector: try params.object("hnsw_config"))
        _ = try memory(params, pinned: "dense vector storage")
        return spec
    }

    /// A graph's degree and build beam: the vector's own `hnsw_config` over the collection's
    /// over Qdrant's defaults.
    static func hnsw(collection: JSONFields?, vector: JSONFields?) throws -> (m: Int, ef: Int) {
        var (m, ef) = (16, 100)
        for hnsw in [collection, vector].compactMap({ $0 }) {
            try checkHNSW(hnsw)
            if let given = try hnsw.count("m", max: 512) { m = given }
            if let given = try hnsw.count("ef_construct", max: 100_000) { ef = given }
        }
        return (m, ef)
    }

    /// An `hnsw_config` (or its diff) as Qdrant validates it, and hsdb's own floor for `m`.
    static func checkHNSW(_ hnsw: JSONFields) throws {
        for key in hnsw.values.keys.sorted() where !hnswKeys.contains(key) { throw APIError.format("\(hnsw.path): unknown field `\(key)`") }
        if let m = try hnsw.count("m", max: 512), m < 2 {
            throw APIError.wrongInput("\(hnsw.path).m must be at least 2 (hsdb always builds a graph)")
        }
        if let ef = try hnsw.count("ef_construct", max: 100_000), ef < 4 {
            throw APIError.validation("\(hnsw.path).ef_construct", "value \(ef) invalid, must be 4 or larger")
        }
        if let n = try hnsw.count("full_scan_threshold"), n < 10 {
            throw APIError.validation("\(hnsw.path).full_scan_threshold", "value \(n) invalid, must be 10 or larger")
        }
        _ = try memory(hnsw, pinned: nil)
    }

    /// A `quantization_config`: one of Qdrant's methods (hsdb's own 1-bit codes answer every
    /// query; the choice is kept and reported).
    static func checkQuantization(_ q: JSONFields) throws {
        guard q.values.count == 1, let kind = q.values.keys.first, ["binary", "scalar", "product", "turbo"].contains(kind) else {
            throw APIError.format("\(q.path): expected one of `binary`, `scalar`, `product`, `turbo`")
        }
    }

    /// Qdrant's `memory` placement (`cold`, `cached`, `pinned`): a hint, as everything of
    /// hsdb's is mapped from its files; `pinned` is refused where Qdrant refuses it (422).
    static func memory(_ fields: JSONFields, pinned refusedFor: String?) throws -> String? {
        guard let memory = try fields.string("memory") else { return nil }
        guard ["cold", "cached", "pinned"].contains(memory) else {
            throw APIError.format("\(fields.fieldPath("memory")): unknown variant `\(memory)`, expected one of `cold`, `cached`, `pinned`")
        }
        if memory == "pinned", let refusedFor {
            throw APIError.validation(fields.fieldPath("memory"), "`pinned` memory placement is not supported for \(refusedFor)")
        }
        return memory
    }

    /// `payload`: Qdrant's `PayloadStorageParams`.
    static func payloadStorage(_ payload: JSONFields) throws -> Payload {
        for key in payload.values.keys.sorted() where key != "memory" { throw APIError.format("\(payload.fieldPath(key)): unknown field") }
        _ = try memory(payload, pinned: "payload storage")
        return payload.values
    }

    /// Qdrant's `optimizers_config.indexing_threshold` (KB of vectors; 0: none): a memtable
    /// that idles with at least that much is flushed into a segment, indexed by codes and (with
    /// enough points) a graph, instead of waiting for the engine's default size.
    static func applyOptimizerSettings(_ c: Collection) {
        let config = c.config
        guard case .object(let o)? = config.attributes["optimizers_config"], case .int(let kb)? = o["indexing_threshold"], kb > 0 else {
            return c.setIdleFlushPoints(nil)
        }
        let bytesPerPoint = 4 * (config.dimension + config.namedVectors.reduce(0) { $0 + $1.dimension })
        c.setIdleFlushPoints(Int(min(kb, 1 << 40)) * 1024 / bytesPerPoint)
    }

    static let sparseKeys: Set<String> = ["index", "modifier"]
    static let sparseIndexKeys: Set<String> = ["full_scan_threshold", "on_disk", "memory", "datatype"]

    /// `sparse_vectors`: `{name: {"modifier": "idf" | "none", "index": {...}}}`. The index
    /// settings are storage hints (hsdb's inverted index is in the segment files, scored
    /// exactly); they are checked and reported back as given.
    static func sparseVectors(_ body: JSONFields) throws -> (parameters: [String: SparseVectorParameters], given: Payload) {
        guard let declared = try body.object("sparse_vectors") else { return ([:], [:]) }
        var parameters: [String: SparseVectorParameters] = [:]
        for (name, value) in declared.values.sorted(by: { $0.key < $1.key }) {
            let spec = try JSONFields(value, path: declared.fieldPath(name))
            guard !name.isEmpty else { throw APIError.wrongInput("Sparse vector name cannot be empty") }
            guard name.utf8.count <= 255 else { throw APIError.wrongInput("sparse vector names must be at most 255 bytes long") }
            parameters[name] = try sparseParameters(spec)
        }
        return (parameters, declared.values)
    }

    /// One sparse vector's `{"modifier", "index"}`, checked (also a PATCH's diff of them).
    static func sparseParameters(_ spec: JSONFields) throws -> SparseVectorParameters {
        for key in spec.values.keys.sorted() where !sparseKeys.contains(key) { throw APIError.format("\(spec.fieldPath(key)): unknown field") }
        if let index = try spec.object("index") {
            for key in index.values.keys.sorted() where !sparseIndexKeys.contains(key) { throw APIError.format("\(index.fieldPath(key)): unknown field") }
            switch try index.string("datatype") {
            case nil, "float32", "float16": break  // a storage hint, as for dense vectors
            case "turbo4": throw APIError.validation(index.fieldPath("datatype"), "sparse vectors do not support the `turbo4` datatype")
            case let other?: throw APIError.unsupported("sparse `datatype` `\(other)`")
            }
            _ = try memory(index, pinned: nil)
        }
        switch try spec.string("modifier") {
        case nil, "none": return SparseVectorParameters(modifier: .none)
        case "idf": return SparseVectorParameters(modifier: .idf)
        case let other?: throw APIError.format("\(spec.fieldPath("modifier")): unknown variant `\(other)`, expected one of `none`, `idf`")
        }
    }

    /// `write_consistency_factor`: the copies (leader included) a write must be durable on.
    static func writeConsistencyFactor(_ body: JSONFields) throws -> Int? {
        try positiveU32(body, "write_consistency_factor")
    }

    /// A u32 field Qdrant validates as `range(min = 1)`: negative or not an integer is a
    /// format error (400), 0 a validation error (422).
    static func positiveU32(_ body: JSONFields, _ key: String) throws -> Int? {
        guard let v = body[key] else { return nil }
        guard case .int(let n) = v, n >= 0, n <= Int64(UInt32.max) else {
            throw JSONFields.typeError(key, "a positive integer", v)
        }
        guard n >= 1 else { throw APIError.validation(key, "value 0 invalid, must be 1 or larger") }
        return Int(n)
    }

    /// The factor a collection's writes are held to: its own, else the server's default.
    static func writeConsistencyFactor(of c: Collection, default factor: Int) -> Int {
        if case .int(let n) = c.config.attributes["write_consistency_factor"], n >= 1 { return Int(n) }
        return factor
    }

    /// `CollectionInfo` as the client's model wants it. Objects the client validates strictly
    /// (`VectorParams`, quantization configs) carry only what was given at creation.
    static func writeInfo(
        _ c: Collection, _ stats: CollectionStatistics, indexedPoints: [String: Int], writeConsistencyFactor: Int,
        to w: inout JSONTextWriter
    ) {
        let a = c.config.attributes
        w.beginObject()
        // As Qdrant: yellow while its optimizers (here: a flush or merge) run, green after.
        w.key("status"); w.string(c.maintenanceRunning ? "yellow" : "green")
        w.key("optimizer_status"); w.string("ok")
        w.key("indexed_vectors_count"); w.int(stats.segmentPoints)
        w.key("points_count"); w.int(stats.points)
        w.key("segments_count"); w.int(stats.segments)
        w.key("config")
        w.beginObject()
        w.key("params")
        w.beginObject()
        w.key("vectors")
        var vectorParams: Payload = [:]
        if case .object(let given) = a["vectors"] { vectorParams = given }
        vectorParams["size"] = .int(Int64(c.config.dimension))
        vectorParams["distance"] = .string(distanceName(c.config.metric))
        if a[VectorNaming.placeholderKey] == .bool(true), a["vectors_named"] != .bool(true), let v = c.config.namedVectors.first {
            w.object(lanePayload(c, v))  // the unnamed multivector
        } else if a["vectors_named"] == .bool(true) {
            var all: Payload = a[VectorNaming.placeholderKey] == .bool(true) ? [:] : [VectorNaming(c.config).name: .object(vectorParams)]
            for v in c.config.namedVectors { all[v.name] = .object(lanePayload(c, v)) }
            w.object(all)
        } else {
            w.object(vectorParams)
        }
        if case .object(let sparse)? = a["sparse_vectors"] { w.key("sparse_vectors"); w.object(sparse) }
        w.key("shard_number"); w.int(1)
        w.key("replication_factor"); w.int(1)
        w.key("write_consistency_factor"); w.int(writeConsistencyFactor)
        for key in ["read_fan_out_factor", "read_fan_out_delay_ms", "payload"] {
            if let v = a[key] { w.key(key); w.value(v) }
        }
        w.key("on_disk_payload"); w.bool(a["on_disk_payload"] != .bool(false))
        w.endObject()
        w.key("hnsw_config"); w.object(collectionHNSW(c.config))
        // Qdrant's defaults, with what was given at creation over them.
        var optimizer: Payload = [
            "deleted_threshold": .double(0.2), "vacuum_min_vector_number": .int(1000), "default_segment_number": .int(0),
            "flush_interval_sec": .int(5),
        ]
        if case .object(let given) = a["optimizers_config"] { optimizer.merge(given) { $1 } }
        w.key("optimizer_config"); w.object(optimizer)
        var wal: Payload = ["wal_capacity_mb": .int(64), "wal_segments_ahead": .int(0)]
        if case .object(let given) = a["wal_config"] { wal.merge(given) { $1 } }
        w.key("wal_config"); w.object(wal)
        w.key("quantization_config")
        if let q = a["quantization_config"] { w.value(q) } else { w.null() }
        if let m = a["metadata"] { w.key("metadata"); w.value(m) }
        if let strict = a[StrictMode.attributeKey] { w.key("strict_mode_config"); w.value(strict) }
        w.endObject()
        // Writes are applied before they are acknowledged: nothing ever waits in a queue.
        w.key("update_queue")
        w.beginObject()
        w.key("length"); w.int(0)
        w.endObject()
        w.key("payload_schema")
        w.beginObject()
        var indexParams: Payload = [:]
        if case .object(let o)? = a[StrictMode.indexParamsKey] { indexParams = o }
        for (field, type) in c.payloadIndexes.sorted(by: { $0.key < $1.key }) {
            w.key(field)
            w.beginObject()
            w.key("data_type"); w.string(schemaName(type))
            // As Qdrant: an index created with parameters reports them, its type among them.
            if case .object(let params)? = indexParams[field] {
                w.key("params"); w.object(params.merging(["type": .string(schemaName(type))]) { a, _ in a })
            }
            w.key("points"); w.int(indexedPoints[field] ?? 0)
            w.endObject()
        }
        w.endObject()
        let warnings = warnings(c.config)
        if !warnings.isEmpty {
            w.key("warnings")
            w.beginArray()
            for message in warnings { w.object(["message": .string(message)]) }
            w.endArray()
        }
        w.endObject()
    }

    /// The collection's `hnsw_config` as given over Qdrant's defaults (a collection the
    /// embedded API created reports its engine values).
    static func collectionHNSW(_ config: CollectionConfig) -> Payload {
        let fromServer = config.attributes["vectors_named"] != nil
        var hnsw: Payload = [
            "m": .int(Int64(fromServer ? 16 : config.hnswM)), "ef_construct": .int(Int64(fromServer ? 100 : config.hnswEfConstruction)),
            "full_scan_threshold": .int(10_000), "max_indexing_threads": .int(0), "on_disk": .bool(false),
        ]
        if case .object(let given)? = config.attributes["hnsw_config"] { hnsw.merge(given) { $1 } }
        return hnsw
    }

    /// Qdrant's configuration warnings: `inline_storage` asked for where it cannot apply.
    static func warnings(_ config: CollectionConfig) -> [String] {
        let a = config.attributes
        var given: [(String, Payload)] = []
        if a[VectorNaming.placeholderKey] != .bool(true), case .object(let p)? = a["vectors"] { given.append((VectorNaming(config).name, p)) }
        if case .object(let all)? = a["named_vectors"] {
            given += all.keys.sorted().compactMap { name in if case .object(let p)? = all[name] { (name, p) } else { nil } }
        }
        let collectionHNSW = collectionHNSW(config)
        return given.compactMap { name, params in
            var hnsw = collectionHNSW
            if case .object(let own)? = params["hnsw_config"] { hnsw.merge(own) { $1 } }
            guard hnsw["inline_storage"] == .bool(true) else { return nil }
            let option = "The `hnsw_config.inline_storage` option for vector '\(name)'"
            if params["multivector_config"] != nil { return "\(option) is not compatible with multivectors. This option will be ignored." }
            if params["quantization_config"] == nil, a["quantization_config"] == nil {
                return "\(option) requires quantization to be enabled. This option will be ignored."
            }
            return nil
        }
    }

    /// A further dense vector's parameters as given, with its size and distance.
    static func lanePayload(_ c: Collection, _ v: NamedVectorConfig) -> Payload {
        var params: Payload = [:]
        if case .object(let given)? = c.config.attributes["named_vectors"], case .object(let p)? = given[v.name] { params = p }
        params["size"] = .int(Int64(v.dimension))
        params["distance"] = .string(distanceName(v.metric))
        return params
    }

    static func distanceName(_ m: Metric) -> String {
        switch m {
        case .cosine: return "Cosine"
        case .dot: return "Dot"
        case .euclidean: return "Euclid"
        }
    }

    static func schemaName(_ t: PayloadIndexType) -> String {
        switch t {
        case .keyword: return "keyword"
        case .integer: return "integer"
        case .float: return "float"
        case .bool: return "bool"
        case .uuid: return "uuid"
        case .datetime: return "datetime"
        case .text: return "text"
        case .geo: return "geo"
        }
    }

    /// The parameters each index type takes in the object form of `field_schema`, beside
    /// `type`. hsdb's indexes are in memory and serve every lookup they can (`on_disk` and
    /// `is_tenant` are storage and placement hints that change no answer); anything else is
    /// refused rather than ignored.
    static let indexParamKeys: [String: Set<String>] = [
        "keyword": ["on_disk", "memory", "enable_hnsw", "is_tenant"], "integer": ["on_disk", "memory", "enable_hnsw", "is_principal", "lookup", "range"],
        "float": ["on_disk", "memory", "enable_hnsw", "is_principal"], "bool": ["on_disk", "memory", "enable_hnsw"],
        "uuid": ["on_disk", "memory", "enable_hnsw", "is_tenant"], "datetime": ["on_disk", "memory", "enable_hnsw", "is_principal"],
        "text": ["on_disk", "memory", "enable_hnsw", "tokenizer", "lowercase", "phrase_matching", "min_token_len", "max_token_len"],
        "geo": ["on_disk", "memory", "enable_hnsw"],
    ]

    /// `field_schema`: "keyword" | "integer" | "float" | "bool" | "uuid" | "datetime" or
    /// `{"type": ..., params}`.
    static func indexType(_ value: JSONValue?) throws -> PayloadIndexType {
        var name: String?
        switch value {
        case .string(let s): name = s
        case .object(let o):
            if case .string(let s) = o["type"] { name = s }
            if let s = name, let allowed = indexParamKeys[s] {
                for key in o.keys.sorted() where key != "type" && !allowed.contains(key) {
                    throw APIError.format("field_schema: unknown field `\(key)` for a \(s) index")
                }
                // hsdb's integer index answers both matches and ranges; without `lookup` or `range`
                // strict mode treats it as Qdrant does (`StrictModeFilter.capabilities`).
                if o["lookup"] == .bool(false), o["range"] == .bool(false) {  // Qdrant's answer
                    throw APIError.validation("field_schema", "Validation error: the 'lookup' and 'range' capabilities can't be both disabled")
                }
                // hsdb's text index is Qdrant's default word tokenizer, lowercased; phrase
                // matching always works (positions are checked per point).
                if s == "text" {
                    if let t = o["tokenizer"], t != .string("word"), t != .null { throw APIError.unsupported("text index tokenizer \(t) (supported: word)") }
                    if o["lowercase"] == .bool(false) { throw APIError.unsupported("a text index without `lowercase`") }
                    for key in ["min_token_len", "max_token_len"] where o[key] != nil && o[key] != .null {
                        throw APIError.unsupported("text index `\(key)`")
                    }
                }
            }
        default: break
        }
        switch name {
        case "keyword": return .keyword
        case "integer": return .integer
        case "float": return .float
        case "bool": return .bool
        case "uuid": return .uuid
        case "datetime": return .datetime
        case "text": return .text
        case "geo": return .geo
        case .some(let other): throw APIError.unsupported("payload index type `\(other)` (supported: keyword, integer, float, bool, uuid, datetime, text, geo)")
        case .none: throw APIError.format("field_schema: expected a schema type such as \"keyword\"")
        }
    }
}
