import HSDBCore

/// New vectors for one existing point: the dense vector if given, sparse vectors by name
/// (`nil` for a name removes that sparse vector; names not mentioned are kept) and further
/// dense vectors by name (those given replace the point's; the others are kept).
public struct VectorUpdate: Sendable, Equatable {
    public var id: PointID
    public var vector: [Float]?
    public var sparse: [String: SparseVector?]
    public var named: [String: [Float]]

    public init(id: PointID, vector: [Float]? = nil, sparse: [String: SparseVector?] = [:], named: [String: [Float]] = [:]) {
        self.id = id
        self.vector = vector
        self.sparse = sparse
        self.named = named
    }
}

extension Collection {
    /// Replaces the vectors of existing points, keeping their payloads, as one atomic write.
    /// Every id must exist (`HSDBError.pointNotFound` names the first that does not, and
    /// nothing is written). A read-modify-write, serialised with payload updates
    /// (`updatePayload` says what that means for a racing upsert).
    @discardableResult
    public func updateVectors(_ vectors: [(id: PointID, vector: [Float])]) async throws -> WriteResult {
        try await updateVectors(vectors.map { VectorUpdate(id: $0.id, vector: $0.vector) })
    }

    /// Changes the dense and sparse vectors of existing points as `updates` say, keeping
    /// everything else; the same rules as above.
    @discardableResult
    public func updateVectors(_ updates: [VectorUpdate]) async throws -> WriteResult {
        try await updateVectors(updates, filter: nil)!
    }

    /// The same, changing only the points that match `filter` (Qdrant's `update_filter`);
    /// nil when none does (nothing is written).
    @discardableResult
    public func updateVectors(_ updates: [VectorUpdate], filter: Filter?) async throws -> WriteResult? {
        try Validation.checkBatchSize(updates.count, limits: limits)
        let filter = filter.map(resolved)
        return try await payloadUpdates.withLock {
            let records = try get(ids: updates.map(\.id), projection: .everything)
            var current: [PointID: Record] = [:]
            for r in records { current[r.id] = r }
            // Several updates of one point apply one after another (Qdrant's issue 3376).
            var changed: [PointID: Point] = [:]
            var order: [PointID] = []
            for u in updates {
                guard let r = current[u.id] else { throw HSDBError.pointNotFound(u.id) }
                if let filter, !filter.matches(id: r.id, payload: r.payload ?? [:], has: r.has) { continue }
                var p = changed[u.id] ?? Point(id: u.id, vector: r.vector, sparse: r.sparse ?? [:], named: r.named ?? [:], payload: r.payload ?? [:])
                if let v = u.vector { p.vector = v }
                for (name, v) in u.sparse { p.sparse[name] = v }
                p.named.merge(u.named) { $1 }
                if changed.updateValue(p, forKey: u.id) == nil { order.append(u.id) }
            }
            let points = order.map { changed[$0]! }
            return points.isEmpty && filter != nil ? nil : try await upsert(points)
        }
    }
}

extension Collection {
    /// Removes the sparse vectors `names` from the points with these ids (ids that do not
    /// exist, and points holding none of them, are skipped), as one atomic write. Returns nil
    /// when nothing changed. Serialised with payload and vector updates.
    @discardableResult
    public func deleteSparseVectors(_ names: [String], ids: [PointID]) async throws -> WriteResult? {
        try await deleteVectors(dense: false, sparse: names, ids: ids)
    }

    /// The same, and with `dense` the first dense vector too, and the further dense vectors
    /// `named`: the points keep their payloads and other vectors, and are no longer found by
    /// dense search of the vectors removed.
    @discardableResult
    public func deleteVectors(dense: Bool, sparse names: [String], named: [String] = [], ids: [PointID]) async throws -> WriteResult? {
        try Validation.checkBatchSize(ids.count, limits: limits)
        for name in names where config.sparseVectors[name] == nil {
            throw HSDBError.invalidArgument("the collection has no sparse vector named '\(name)'")
        }
        for name in named where config.lane(of: name) == nil {
            throw HSDBError.invalidArgument("the collection has no dense vector named '\(name)'")
        }
        return try await payloadUpdates.withLock {
            let points = try get(ids: ids, projection: .everything).compactMap { r -> Point? in
                var sparse = r.sparse ?? [:], further = r.named ?? [:]
                let before = sparse.count + further.count
                for name in names { sparse[name] = nil }
                for name in named { further[name] = nil }
                let dropsDense = dense && r.vector != nil
                guard sparse.count + further.count < before || dropsDense else { return nil }
                return Point(id: r.id, vector: dropsDense ? nil : r.vector, sparse: sparse, named: further, payload: r.payload ?? [:])
            }
            return points.isEmpty ? nil : try await upsert(points)
        }
    }

    /// The same for every point matching `filter` (as of now).
    @discardableResult
    public func deleteSparseVectors(_ names: [String], filter: Filter) async throws -> WriteResult? {
        try await deleteVectors(dense: false, sparse: names, filter: filter)
    }

    /// The same for every point matching `filter` (as of now).
    @discardableResult
    public func deleteVectors(dense: Bool, sparse names: [String], named: [String] = [], filter: Filter) async throws -> WriteResult? {
        try await inBatches(of: try ids(matching: filter)) { try await deleteVectors(dense: dense, sparse: names, named: named, ids: $0) }
    }
}
