import HSDBCore
import Index
import Logging
import Synchronization
import WAL

/// A named set of points of one dimension and metric, with its own WAL and LSN sequence.
/// Safe to use from many tasks at once. Writes are `async`: they wait for the WAL's group
/// commit without blocking a thread. Reads are synchronous: they never wait for I/O or for
/// writers (they search an O(1) snapshot of the memtable).
public final class Collection: Sendable {
    public let name: String
    public let config: CollectionConfig
    let directory: String
    let wal: WALWriter
    let memtable: Mutex<Memtable>
    let limits: Limits

    init(name: String, config: CollectionConfig, directory: String, wal: WALWriter, memtable: consuming Memtable, limits: Limits) {
        self.name = name
        self.config = config
        self.directory = directory
        self.wal = wal
        self.memtable = Mutex(memtable)
        self.limits = limits
    }

    // MARK: Writes

    /// Inserts or replaces points, atomically: after a crash either every point of the batch
    /// is there or none is. Returns once the write is acknowledged under the durability mode
    /// (`fsync`: on disk). Within one batch, a later point with the same id wins.
    @discardableResult
    public func upsert(_ points: [Point]) async throws -> WriteResult {
        try Validation.checkBatchSize(points.count, limits: limits)
        var prepared: [Point] = []
        prepared.reserveCapacity(points.count)
        var record = OperationCodec.beginUpsert(count: points.count, dimension: config.dimension)
        for (index, point) in points.enumerated() {
            let sumOfSquares = try Validation.checkVector(point.vector, dimension: config.dimension, context: "point \(index) (id \(point.id))")
            try Validation.checkPayload(point.payload, limits: limits, context: "point \(index) (id \(point.id))")
            var p = point
            if config.metric == .cosine { p.vector = Distance.scaled(p.vector, by: 1 / sumOfSquares.squareRoot()) }
            let payloadBytes = OperationCodec.appendPoint(p, to: &record)
            try Validation.checkPayloadSize(payloadBytes, limits: limits, context: "point \(index) (id \(point.id))")
            prepared.append(p)
        }
        return try await log(consume record, .upsert(prepared))
    }

    /// Deletes points by id; ids that do not exist are ignored.
    @discardableResult
    public func delete(ids: [PointID]) async throws -> WriteResult {
        try Validation.checkBatchSize(ids.count, limits: limits)
        return try await log(OperationCodec.encodeDelete(ids), .delete(ids))
    }

    private func log(_ record: consuming WALRecordBuffer, _ operation: Operation) async throws -> WriteResult {
        do {
            let lsn = try await wal.append(consume record) { [self] lsn in
                memtable.withLock { $0.apply(operation, lsn: lsn) }
            }
            return WriteResult(lsn: lsn)
        } catch {
            throw HSDBError.wrap(error)
        }
    }

    /// Waits until every acknowledged write is durable (for `interval` and `none` modes).
    public func sync() async throws {
        do { try await wal.sync() } catch { throw HSDBError.wrap(error) }
    }

    /// WAL counters: records, bytes, writes, fdatasyncs and their time (group-commit batch
    /// size = records per sync).
    public var walStatistics: WALStatistics.Snapshot { wal.statistics.snapshot }

    // MARK: Reads

    /// The highest LSN applied: every write up to it is visible to reads.
    public var appliedLSN: UInt64 { memtable.withLock { $0.appliedLSN } }

    /// Exact number of live points.
    public func count() -> Int { memtable.withLock { $0.count } }

    /// The points with these ids, in the order asked, skipping ids that do not exist.
    public func get(ids: [PointID], projection: Projection = .payloadOnly) -> [Record] {
        let snapshot = memtable.withLock { $0.points }
        return ids.compactMap { id in snapshot[id].map { record(id, $0, projection) } }
    }

    /// Points in ascending id order (integers before UUIDs), starting at `offset` inclusive.
    public func scroll(from offset: PointID? = nil, limit: Int = 10, projection: Projection = .payloadOnly) throws -> ScrollPage {
        guard limit >= 1 else { throw HSDBError.invalidArgument("scroll limit must be at least 1, got \(limit)") }
        let snapshot = memtable.withLock { $0.points }
        var ids = snapshot.keys.filter { offset == nil || $0 >= offset! }
        ids.sort()
        let page = ids.prefix(limit).map { record($0, snapshot[$0]!, projection) }
        return ScrollPage(points: page, nextOffset: ids.count > limit ? ids[limit] : nil)
    }

    /// The `limit` nearest points to `vector` by the collection's metric, exactly (a scan of
    /// the memtable). Scores: similarity for cosine and dot (descending), distance for
    /// euclidean (ascending). `scoreThreshold` drops hits worse than it.
    public func search(
        _ vector: [Float], limit: Int = 10, projection: Projection = .payloadOnly, scoreThreshold: Float? = nil
    ) throws -> [ScoredPoint] {
        guard limit >= 1 else { throw HSDBError.invalidArgument("search limit must be at least 1, got \(limit)") }
        try Validation.checkVector(vector, dimension: config.dimension, context: "query")
        let query = config.metric == .cosine ? Distance.normalized(vector) : vector
        let snapshot = memtable.withLock { $0.points }
        let metric = config.metric
        var top = TopK<PointID>(k: limit, higherIsBetter: metric.higherIsBetter)
        query.withUnsafeBufferPointer { q in
            for (id, point) in snapshot {
                let score = point.vector.withUnsafeBufferPointer { metric.score(q.baseAddress!, $0.baseAddress!, count: q.count) }
                if let t = scoreThreshold, metric.higherIsBetter ? score < t : score > t { continue }
                top.insert(score, id)
            }
        }
        return top.sorted().map { hit in
            let p = snapshot[hit.item]!
            return ScoredPoint(
                id: hit.item, version: p.version, score: hit.score,
                vector: projection.withVector ? p.vector.array : nil, payload: projection.withPayload ? p.payload : nil)
        }
    }

    private func record(_ id: PointID, _ p: StoredPoint, _ projection: Projection) -> Record {
        Record(id: id, version: p.version, vector: projection.withVector ? p.vector.array : nil, payload: projection.withPayload ? p.payload : nil)
    }

    func close() async throws {
        do { try await wal.close() } catch { throw HSDBError.wrap(error) }
    }
}
