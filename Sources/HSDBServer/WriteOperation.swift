import HSDB
import HSDBCore

/// One write of the points API, decoded whole before anything is written: the body of an
/// upsert, delete, payload or vector route, or one entry of `POST .../points/batch`.
enum WriteOperation {
    /// The points, which of them are written (`update_mode`), and the filter existing points
    /// must match to be replaced (`update_filter`).
    case upsert([Point], UpsertMode, Filter?)
    case delete(PointSelector)
    case payload(PayloadUpdate, PointSelector)
    /// New vectors, for the points that match the filter (`update_filter`) if one is given.
    case updateVectors([VectorUpdate], Filter?)
    /// Removes these sparse vectors from the selected points.
    /// Whether the dense vector goes too, and the sparse vectors by name.
    case deleteVectors(dense: Bool, sparse: [String], PointSelector)

    /// The payload operations by their names in `points/batch` (and their routes).
    enum PayloadKind: String, CaseIterable {
        case set = "set_payload", overwrite = "overwrite_payload", delete = "delete_payload", clear = "clear_payload"
    }

    /// The body of `PUT .../points` (and a batch's `upsert`).
    static func upsert(_ fields: JSONFields, naming: VectorNaming, limit: Int) throws -> WriteOperation {
        let (mode, filter) = try PointDecoding.upsertConditions(fields)
        return .upsert(try PointDecoding.upsert(fields, naming: naming, limit: limit), mode, filter)
    }

    static func payload(_ kind: PayloadKind, _ fields: JSONFields, limit: Int) throws -> WriteOperation {
        let update: PayloadUpdate
        switch kind {
        case .set:
            if fields.has("key") { throw APIError.unsupported("setting payload under a nested `key`") }
            update = .merge(try PointDecoding.payload(try required(fields, "payload"), path: fields.fieldPath("payload")))
        case .overwrite:
            update = .replace(try PointDecoding.payload(try required(fields, "payload"), path: fields.fieldPath("payload")))
        case .delete:
            guard let keys = try fields.array("keys") else { throw APIError.format("missing field `\(fields.fieldPath("keys"))`") }
            update = .deleteKeys(try keys.enumerated().map { i, k in
                guard case .string(let s) = k else { throw JSONFields.typeError(fields.fieldPath("keys[\(i)]"), "a string", k) }
                return s
            })
        case .clear:
            update = .clear
        }
        return .payload(update, try PointSelector(fields, limit: limit))
    }

    /// `{"points": [{"id": ..., "vector": ...}, ...], "update_filter"}` of `PUT .../points/vectors`.
    static func updateVectors(_ fields: JSONFields, naming: VectorNaming, limit: Int) throws -> WriteOperation {
        guard let list = try fields.array("points") else { throw APIError.format("missing field `\(fields.fieldPath("points"))`") }
        guard list.count <= limit else { throw APIError.wrongInput("the request holds \(list.count) points; the limit is \(limit) per request") }
        let filter = try fields["update_filter"].flatMap { $0 == .null ? nil : try FilterDecoding.filter($0, path: "update_filter") }
        return .updateVectors(try list.enumerated().map { i, item in
            let p = try JSONFields(item, path: fields.fieldPath("points[\(i)]"))
            let given = try required(p, "vector")
            if given == .object([:]) { throw APIError.validation(p.fieldPath("vector"), "must specify vectors to update for point") }
            let v = try naming.vectors(given, path: p.fieldPath("vector"))
            return VectorUpdate(
                id: try PointDecoding.id(try required(p, "id"), path: p.fieldPath("id")), vector: v.dense, sparse: v.sparse, named: v.named)
        }, filter)
    }

    /// `{"points": [...] | "filter": ..., "vector": [names]}` of `POST .../points/vectors/delete`:
    /// the named vectors go, the points and their other vectors stay.
    static func deleteVectors(_ fields: JSONFields, naming: VectorNaming, limit: Int) throws -> WriteOperation {
        guard let names = try fields.array("vector") else { throw APIError.format("missing field `\(fields.fieldPath("vector"))`") }
        var doomed: [String] = []
        var dense = false
        for (i, n) in names.enumerated() {
            guard case .string(let name) = n else { throw JSONFields.typeError(fields.fieldPath("vector[\(i)]"), "a vector name", n) }
            if name == naming.name {
                dense = true
                continue
            }
            guard naming.sparseNames.contains(name) || naming.laneNames.contains(name) else { throw VectorNaming.notExisting(name) }
            doomed.append(name)
        }
        return .deleteVectors(dense: dense, sparse: doomed, try PointSelector(fields, limit: limit))
    }

    /// One entry of `points/batch`: an object with exactly one operation key.
    static func batchEntry(_ value: JSONValue, path: String, naming: VectorNaming, limit: Int) throws -> WriteOperation {
        let entry = try JSONFields(value, path: path)
        guard entry.values.count == 1, let (name, body) = entry.values.first else {
            throw APIError.format("\(path): expected exactly one operation")
        }
        let fields = try JSONFields(body, path: "\(path).\(name)")
        switch name {
        case "upsert": return try .upsert(fields, naming: naming, limit: limit)
        case "delete": return .delete(try PointSelector(fields, limit: limit))
        case "update_vectors": return try updateVectors(fields, naming: naming, limit: limit)
        case "delete_vectors": return try deleteVectors(fields, naming: naming, limit: limit)
        default:
            guard let kind = PayloadKind(rawValue: name) else {
                throw APIError.format("\(path): unknown operation `\(name)`, expected one of `upsert`, `delete`, `set_payload`, "
                    + "`overwrite_payload`, `delete_payload`, `clear_payload`, `update_vectors`, `delete_vectors`")
            }
            return try payload(kind, fields, limit: limit)
        }
    }

    /// Applies the operation; returns the LSN of its write, or nil when it changed nothing.
    /// With strict mode on, its limits are checked first, then the write is charged to `limits`.
    func apply(to c: Collection, limits: StrictModeRateLimits) async throws -> UInt64? {
        if let strict = StrictMode(c) {
            try check(strict, c)
            try strict.chargeWrite(self, on: c, limits)
        }
        switch self {
        case .upsert(let points, let mode, let filter): return try await c.upsert(points, mode: mode, updateFilter: filter)?.lsn
        case .delete(.ids(let ids)): return try await c.delete(ids: ids).lsn
        case .delete(.filter(let f)): return try await c.delete(filter: f)?.lsn
        case .payload(let update, .ids(let ids)): return try await c.updatePayload(update, ids: ids)?.lsn
        case .payload(let update, .filter(let f)): return try await c.updatePayload(update, filter: f)?.lsn
        case .updateVectors(let vectors, let filter): return try await c.updateVectors(vectors, filter: filter)?.lsn
        case .deleteVectors(let dense, let names, .ids(let ids)):
            let (sparse, named) = (names.filter { c.config.lane(of: $0) == nil }, names.filter { c.config.lane(of: $0) != nil })
            return try await c.deleteVectors(dense: dense, sparse: sparse, named: named, ids: ids)?.lsn
        case .deleteVectors(let dense, let names, .filter(let f)):
            let (sparse, named) = (names.filter { c.config.lane(of: $0) == nil }, names.filter { c.config.lane(of: $0) != nil })
            return try await c.deleteVectors(dense: dense, sparse: sparse, named: named, filter: f)?.lsn
        }
    }

    /// Strict mode's limits on writes: batch sizes, the collection's size, vector lengths, filters.
    private func check(_ strict: StrictMode, _ c: Collection) throws {
        switch self {
        case .upsert(let points, _, _):
            // Qdrant leaves `update_filter` unchecked: it reads only the points written.
            try strict.check(points.count, against: "upsert_max_batchsize", name: "upsert limit")
            try strict.checkCollectionSize(c)
            try strict.checkVectorLengths(c, sparse: points.map(\.sparse), named: points.map(\.named))
        case .updateVectors(let updates, _):
            try strict.check(updates.count, against: "upsert_max_batchsize", name: "update limit")
            try strict.checkCollectionSize(c)
            try strict.checkVectorLengths(c, sparse: updates.map { $0.sparse.compactMapValues { $0 } }, named: updates.map(\.named))
        case .delete(.filter(let f)), .payload(_, .filter(let f)), .deleteVectors(_, _, .filter(let f)):
            try strict.check(filter: f, write: true)
        case .delete(.ids), .payload(_, .ids), .deleteVectors(_, _, .ids):
            break
        }
    }

    private static func required(_ fields: JSONFields, _ key: String) throws -> JSONValue {
        guard let v = fields[key] else { throw APIError.format("missing field `\(fields.fieldPath(key))`") }
        return v
    }
}
