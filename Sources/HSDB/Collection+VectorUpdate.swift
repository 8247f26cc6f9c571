import HSDBCore

extension Collection {
    /// Replaces the vectors of existing points, keeping their payloads, as one atomic write.
    /// Every id must exist (`HSDBError.pointNotFound` names the first that does not, and
    /// nothing is written). A read-modify-write, serialised with payload updates
    /// (`updatePayload` says what that means for a racing upsert).
    @discardableResult
    public func updateVectors(_ vectors: [(id: PointID, vector: [Float])]) async throws -> WriteResult {
        try Validation.checkBatchSize(vectors.count, limits: limits)
        return try await payloadUpdates.withLock {
            let records = try get(ids: vectors.map(\.id), projection: Projection(withVector: false, withPayload: true))
            var payloads: [PointID: Payload] = [:]
            for r in records { payloads[r.id] = r.payload ?? [:] }
            let points = try vectors.map { v -> Point in
                guard let payload = payloads[v.id] else { throw HSDBError.pointNotFound(v.id) }
                return Point(id: v.id, vector: v.vector, payload: payload)
            }
            return try await upsert(points)
        }
    }
}
