import HSDBCore

/// A change to the payloads of existing points (Qdrant's set, overwrite, delete and clear payload).
public enum PayloadUpdate: Sendable, Equatable {
    /// Adds or replaces these top-level keys, keeping the others.
    case merge(Payload)
    /// Replaces the whole payload.
    case replace(Payload)
    /// Removes these keys (key paths: `a.b` into nested objects, `a[].b` into arrays).
    case deleteKeys([String])
    /// Removes every key.
    case clear

    func apply(to payload: inout Payload) {
        switch self {
        case .merge(let p): payload.merge(p) { _, new in new }
        case .replace(let p): payload = p
        case .deleteKeys(let keys):
            for key in keys { PayloadPath(key).remove(from: &payload) }
        case .clear: payload = [:]
        }
    }
}

extension Collection {
    /// Changes the payloads of the points with these ids (ids that do not exist are skipped),
    /// as one atomic write of the changed points. A read-modify-write: payload updates are
    /// serialised with each other, but a concurrent upsert of the same id may be overwritten
    /// by the point as it was read (DESIGN.md, "HTTP API"). Returns nil if no point matched.
    @discardableResult
    public func updatePayload(_ update: PayloadUpdate, ids: [PointID]) async throws -> WriteResult? {
        try Validation.checkBatchSize(ids.count, limits: limits)
        return try await payloadUpdates.withLock {
            let points = try get(ids: ids, projection: .everything).map { record -> Point in
                var payload = record.payload ?? [:]
                update.apply(to: &payload)
                return Point(id: record.id, vector: record.vector, sparse: record.sparse ?? [:], named: record.named ?? [:], payload: payload)
            }
            return points.isEmpty ? nil : try await upsert(points)
        }
    }

    /// Changes the payloads of every point matching `filter` (as of now).
    @discardableResult
    public func updatePayload(_ update: PayloadUpdate, filter: Filter) async throws -> WriteResult? {
        try await inBatches(of: try ids(matching: filter)) { try await updatePayload(update, ids: $0) }
    }
}
