import HSDBCore

/// Which points of an upsert are written (Qdrant's `update_mode`).
public enum UpsertMode: Sendable, Equatable {
    /// Every point: inserted or replaced.
    case upsert
    /// Only points whose id does not exist yet.
    case insertOnly
    /// Only points whose id exists.
    case updateOnly
}

extension Collection {
    /// An upsert of the points `mode` keeps, and of the existing ones only those matching
    /// `updateFilter` (Qdrant's conditional update; new points are inserted regardless), as
    /// one atomic write. Serialised with payload and vector updates, like them a
    /// read-modify-write (a plain upsert racing with it may land between its read and its
    /// write). Returns nil when no point is kept (nothing is written).
    @discardableResult
    public func upsert(_ points: [Point], mode: UpsertMode, updateFilter: Filter?) async throws -> WriteResult? {
        guard mode != .upsert || updateFilter != nil else { return try await upsert(points) }
        try Validation.checkBatchSize(points.count, limits: limits)
        let filter = updateFilter.map(resolved)
        return try await payloadUpdates.withLock {
            var current: [PointID: Record] = [:]
            let projection = filter == nil ? Projection.idsOnly : .everything
            for r in try get(ids: points.map(\.id), projection: projection) { current[r.id] = r }
            let kept = points.filter { p in
                guard let r = current[p.id] else { return mode != .updateOnly }
                guard mode != .insertOnly else { return false }
                return filter.map { $0.matches(id: r.id, payload: r.payload ?? [:], has: r.has) } ?? true
            }
            return kept.isEmpty ? nil : try await upsert(kept)
        }
    }
}

extension Record {
    /// Whether the record (read with its vectors) carries the first dense vector (nil) or the
    /// sparse or further dense vector named: what `has_vector` asks of it.
    func has(_ vector: String?) -> Bool { vector.map { sparse?[$0] != nil || named?[$0] != nil } ?? (self.vector != nil) }
}
