import HSDB
import HSDBCore

/// Qdrant's strict mode: per-collection limits on what requests may ask, kept in the
/// collection's attributes (`strict_mode_config`, set at creation or by `PATCH`) and enforced
/// while `enabled` is true, with Qdrant's texts (400 `Bad request: ... Help: ...`). DESIGN.md,
/// "HTTP API", lists what is enforced and what is refused.
struct StrictMode {
    static let attributeKey = "strict_mode_config"
    static let countKeys: Set<String> = [
        "max_query_limit", "max_timeout", "search_max_hnsw_ef", "upsert_max_batchsize", "search_max_batchsize",
        "max_points_count", "filter_max_conditions", "condition_max_size", "max_payload_index_count",
        "max_collection_vector_size_bytes",
    ]
    /// Tokens per minute (`StrictModeRateLimits`), 1 or more.
    static let rateKeys: Set<String> = ["read_rate_limit", "write_rate_limit"]
    static let boolKeys: Set<String> = ["enabled", "unindexed_filtering_retrieve", "unindexed_filtering_update", "search_allow_exact"]
    /// Limits per vector name, `{"name": {limit: n}}`.
    static let perVectorKeys: [String: String] = ["sparse_config": "max_length", "multivector_config": "max_vectors"]
    /// Limits hsdb does not enforce: setting one is refused rather than ignored.
    static let unsupportedKeys: Set<String> = ["max_collection_payload_size_bytes", "max_resident_memory_percent"]
    /// The attribute beside strict mode that keeps each payload index's parameters (the object
    /// form of its `field_schema`), which say what the index answers (`StrictModeFilter.capabilities`).
    static let indexParamsKey = "payload_index_params"

    let values: Payload
    let schema: StrictModeFilter.Schema

    /// The collection's strict mode, if enabled.
    init?(_ c: Collection) {
        guard case .object(let o)? = c.config.attributes[Self.attributeKey], o["enabled"] == .bool(true) else { return nil }
        values = o
        schema = Self.schema(c)
    }

    /// What each of the collection's payload indexes answers, by its type and parameters.
    static func schema(_ c: Collection) -> StrictModeFilter.Schema {
        var params: Payload = [:]
        if case .object(let p)? = c.config.attributes[indexParamsKey] { params = p }
        var out: StrictModeFilter.Schema = [:]
        for (field, type) in c.payloadIndexes {
            var given: Payload = [:]
            if case .object(let p)? = params[field] { given = p }
            out[field] = StrictModeFilter.capabilities(type, params: given)
        }
        return out
    }

    /// `{"name": {limit: n}}` of `sparse_config` and `multivector_config`, n 1 or more.
    private static func perVector(_ value: JSONValue, limit: String, path: String) throws -> JSONValue {
        guard case .object(let names) = value else { throw JSONFields.typeError(path, "an object", value) }
        for (name, v) in names {
            guard case .object(let o) = v else { throw JSONFields.typeError("\(path).\(name)", "an object", v) }
            for (key, n) in o {
                guard key == limit else { throw APIError.format("\(path).\(name).\(key): unknown field") }
                if case .int(let count) = n, count >= 1 { continue }
                throw APIError.validation("\(path).\(name).\(key)", "value \(n) invalid, must be 1 or larger")
            }
        }
        return value
    }

    /// `stored` with `given`'s fields over it, each checked; `null` leaves a field as it
    /// was, as in Qdrant (which cannot unset a limit once set).
    static func merged(_ stored: Payload, _ given: JSONValue, path: String) throws -> Payload {
        guard case .object(let fields) = given else { throw JSONFields.typeError(path, "an object", given) }
        var out = stored
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            let at = "\(path).\(key)"
            if value == .null {
                continue
            } else if rateKeys.contains(key) {
                guard case .int(let n) = value, n >= 0 else { throw JSONFields.typeError(at, "a non-negative integer", value) }
                if n == 0 { throw APIError.validation(at, "value 0 invalid, must be 1 or larger") }
                out[key] = value
            } else if let limit = perVectorKeys[key] {
                out[key] = try perVector(value, limit: limit, path: at)
            } else if countKeys.contains(key) {
                guard case .int(let n) = value, n >= 0 else { throw JSONFields.typeError(at, "a non-negative integer", value) }
                out[key] = value
            } else if boolKeys.contains(key) {
                guard case .bool = value else { throw JSONFields.typeError(at, "a boolean", value) }
                out[key] = value
            } else if key == "search_max_oversampling" {
                guard case .double = value else {
                    guard case .int = value else { throw JSONFields.typeError(at, "a number", value) }
                    out[key] = value
                    continue
                }
                out[key] = value
            } else if unsupportedKeys.contains(key) {
                throw APIError.unsupported("strict mode `\(key)`")
            } else {
                throw APIError.format("\(at): unknown field")
            }
        }
        return out
    }

    func count(_ key: String) -> Int? { if case .int(let n)? = values[key] { Int(n) } else { nil } }

    static func refusal(_ error: String, _ help: String) -> APIError {
        APIError(status: .badRequest, message: "Bad request: \(error). Help: \(help)")
    }

    /// Qdrant's `check_limit_opt`.
    func check(_ value: Int, against key: String, name: String) throws {
        guard let limit = count(key), value > limit else { return }
        throw Self.refusal("Limit exceeded \(value) > \(limit) for \"\(name)\"", "Reduce the \"\(name)\" parameter to or below \(limit).")
    }

    /// A query's limit, search parameters, filter and formula, and its prefetches'.
    func check(_ q: QueryRequest) throws {
        try check(q.limit, against: "max_query_limit", name: "limit")
        try check(filter: q.filter, write: false)
        if case .formula(let formula) = q.target { try check(formula: formula) }
        if q.parameters.exact, values["search_allow_exact"] == .bool(false) { throw Self.refusal("Exact search disabled!", "Set exact=false.") }
        if let ef = q.parameters.ef { try check(ef, against: "search_max_hnsw_ef", name: "hnsw_ef") }
        if let asked = q.requestedOversampling, let limit = values["search_max_oversampling"].flatMap(Self.number), asked > limit {
            throw Self.refusal(
                "Limit exceeded \(Self.text(asked)) > \(Self.text(limit)) for \"oversampling\"",
                "Reduce the \"oversampling\" parameter to or below \(Self.text(limit)).")
        }
        for p in q.prefetch { try check(p) }
    }

    /// The `timeout` query parameter.
    func check(timeout: Int?) throws {
        if let timeout { try check(timeout, against: "max_timeout", name: "timeout") }
    }

    /// A filter of a read (`unindexed_filtering_retrieve`) or a write (`..._update`): every
    /// field it conditions on indexed when unindexed filtering is off, and its size in bounds.
    func check(filter: Filter?, write: Bool) throws {
        guard let filter else { return }
        if values[write ? "unindexed_filtering_update" : "unindexed_filtering_retrieve"] == .bool(false),
            let (key, types) = StrictModeFilter.unindexed(filter, schema: schema) {
            throw Self.refusal(
                "Index required but not found for \"\(key)\" of one of the following types: [\(types.joined(separator: ", "))]",
                "Create an index for this key or use a different filter.")
        }
        if let limit = count("filter_max_conditions") {
            let n = StrictModeFilter.conditionCount(filter)
            if n > limit { throw Self.refusal("Filter condition limit reached (\(n) > \(limit))", "Reduce the amount of conditions of your filter.") }
        }
        if let limit = count("condition_max_size") {
            let n = StrictModeFilter.largestCondition(filter)
            if n > limit { throw Self.refusal("Condition size limit reached (\(n) > \(limit))", "Reduce the size of your condition.") }
        }
    }

    func checkPointCount(_ c: Collection) throws {
        if let limit = count("max_points_count"), c.count() >= limit {
            throw APIError(status: .badRequest, message: "Bad request: Max points count limit of \(limit) reached!")
        }
    }

    static func number(_ v: JSONValue) -> Double? {
        switch v {
        case .int(let n): return Double(n)
        case .double(let d): return d
        default: return nil
        }
    }

    /// As Rust prints an f64 (`1.5`, `2`).
    static func text(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) }
}
