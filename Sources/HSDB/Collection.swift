import HSDBCore
import Index
import Logging
import Synchronization
import WAL

/// A named set of points of one dimension and metric, with its own WAL, LSN sequence,
/// memtable and segments. Safe to use from many tasks at once. Writes are `async`: they wait
/// for the WAL's group commit without blocking a thread. Reads are synchronous: they never
/// wait for writers or for I/O calls (they read an O(1) snapshot: the memtable as a
/// persistent tree, and mapped segment files).
public final class Collection: Sendable {
    public let name: String
    /// The collection's shape, fixed at creation, and its settings, which
    /// `updateSettings` may change.
    public var config: CollectionConfig { configuration.withLock { $0 } }
    let configuration: Mutex<CollectionConfig>
    let directory: String
    let wal: WALWriter
    let state: Mutex<CollectionState>
    let limits: Limits
    let options: DatabaseOptions
    let fs: any FileSystem
    let logger: Logger
    /// One merge (or payload-index change) at a time, in order.
    let maintenance = AsyncMutex()
    /// One flush at a time. Flushes run beside merges, so a long merge never holds writers
    /// behind a full memtable.
    let flushes = AsyncMutex()
    /// One change of the segment list and its manifest at a time (a flush and a merge may
    /// finish together): each installs and publishes in one turn.
    let manifestUpdates = AsyncMutex()
    /// Raised at close: a running segment write (a long merge) gives up rather than delay it.
    let stopMaintenance = StopFlag()
    /// One settings change (a rewrite of the metadata file) at a time.
    let settingUpdates = AsyncMutex()
    /// One payload update (a read-modify-write) at a time.
    let payloadUpdates = AsyncMutex()
    let flushScheduled = Atomic<Bool>(false)
    let mergeScheduled = Atomic<Bool>(false)
    /// The task that flushes a memtable once writes stop (`DatabaseOptions.idleFlushAfter`).
    let idleWatcher = Mutex<Task<Void, Never>?>(nil)
    /// `setIdleFlushPoints`' value, 0 when not set.
    let idleFlushPointsOverride = Atomic<Int>(0)
    /// Times the idle watcher looked (tests wait on it rather than on the clock).
    let idleChecks = Atomic<Int>(0)
    let closed = Atomic<Bool>(false)
    let maintenanceLog = MaintenanceLog()
    let flushCount = Atomic<Int>(0)
    let compactionCount = Atomic<Int>(0)
    let stallCount = Atomic<Int>(0)
    /// Filtered segment reads that scanned every payload, and that used field indexes.
    let payloadScans = Atomic<Int>(0)
    let indexedFilters = Atomic<Int>(0)
    /// Searches running now (one alone fans out over segments; several do not).
    let activeSearches = Atomic<Int>(0)
    /// Scratch space for graph searches.
    let visitedPool = VisitedPool()
    /// (LSN, live points at it): the IDF's point count, between writes.
    let liveCountCache = Mutex<(lsn: UInt64, count: Int)?>(nil)
    /// The WAL's named readers (`WAL-PINS`), and one change of them at a time.
    let walPins = Mutex(WALPins())
    let pinUpdates = AsyncMutex()
    /// Wakes WAL readers (a leader's streams to its followers) when a write is acknowledged.
    let commitSignal: CommitSignal

    init(
        name: String, config: CollectionConfig, directory: String, wal: WALWriter, state: consuming CollectionState,
        options: DatabaseOptions, fileSystem: any FileSystem, logger: Logger
    ) {
        self.name = name
        self.configuration = Mutex(config)
        self.directory = directory
        self.wal = wal
        self.state = Mutex(state)
        self.limits = options.limits
        self.options = options
        self.fs = fileSystem
        self.logger = logger
        self.commitSignal = CommitSignal(lsn: wal.lastCommit.lsn)
    }

    // MARK: Writes

    /// Inserts or replaces points, atomically: after a crash either every point of the batch
    /// is there or none is. Returns once the write is acknowledged under the durability mode
    /// (`fsync`: on disk). Within one batch, a later point with the same id wins.
    @discardableResult
    public func upsert(_ points: [Point]) async throws -> WriteResult {
        let (record, prepared) = try Self.prepareUpsert(points, config: config, limits: limits)
        return try await log(record, .upsert(prepared))
    }

    /// Checks `points` as an upsert into a collection of `config` would, writing nothing: a
    /// node that splits a batch across shards refuses it whole before any shard applies a part.
    public static func checkUpsert(_ points: [Point], config: CollectionConfig, limits: Limits) throws {
        _ = try prepareUpsert(points, config: config, limits: limits)
    }

    /// The upsert's WAL record and its points as stored (vectors checked, cosine normalised).
    static func prepareUpsert(_ points: [Point], config: CollectionConfig, limits: Limits) throws -> (WALRecordBuffer, [Point]) {
        try Validation.checkBatchSize(points.count, limits: limits)
        var prepared: [Point] = []
        prepared.reserveCapacity(points.count)
        let sparse = points.contains { !$0.sparse.isEmpty }
        let absent = points.contains { $0.vector == nil || !$0.named.isEmpty }
        let multi = Set(config.namedVectors.filter(\.multivector).map(\.name))
        let multivectors = !multi.isEmpty && points.contains { !multi.isDisjoint(with: $0.named.keys) }
        var record = OperationCodec.beginUpsert(
            count: points.count, dimension: config.dimension, sparse: sparse, absentVectors: absent, multivectors: multivectors)
        for (index, point) in points.enumerated() {
            var p = point
            if let vector = point.vector {
                p.vector = try checkedVector(vector, lane: 0, config: config, context: "point \(index) (id \(point.id))")
            }
            for (name, vector) in point.named {
                guard let lane = config.lane(of: name) else {
                    throw HSDBError.invalidArgument("point \(index) (id \(point.id)): the collection has no dense vector named '\(name)'")
                }
                p.named[name] = try checkedVector(vector, lane: lane, config: config, context: "point \(index) (id \(point.id)), vector '\(name)'")
            }
            try Validation.checkSparse(point.sparse, config: config, context: "point \(index) (id \(point.id))")
            try Validation.checkPayload(point.payload, limits: limits, context: "point \(index) (id \(point.id))")
            let payloadBytes = OperationCodec.appendPoint(p, lanes: config.namedVectors, to: &record)
            try Validation.checkPayloadSize(payloadBytes, limits: limits, context: "point \(index) (id \(point.id))")
            prepared.append(p)
        }
        return (record, prepared)
    }

    func checkedVector(_ vector: [Float], lane: Int, context: @autoclosure () -> String) throws -> [Float] {
        try Self.checkedVector(vector, lane: lane, config: config, context: context())
    }

    /// `vector` checked against lane `lane`'s dimension, normalised for cosine (a multivector:
    /// one or more vectors of that dimension, one after another, each checked and normalised).
    static func checkedVector(_ vector: [Float], lane: Int, config: CollectionConfig, context: @autoclosure () -> String) throws -> [Float] {
        let (dimension, metric) = config.dense(lane)
        guard config.isMultivector(lane) else { return try checkedVector(vector, dimension: dimension, metric: metric, context: context()) }
        guard !vector.isEmpty, vector.count % dimension == 0 else {
            throw HSDBError.invalidArgument("\(context()): a multivector of \(vector.count) values is not whole vectors of \(dimension)")
        }
        var out: [Float] = []
        out.reserveCapacity(vector.count)
        for start in stride(from: 0, to: vector.count, by: dimension) {
            out += try checkedVector(Array(vector[start..<(start + dimension)]), dimension: dimension, metric: metric, context: context())
        }
        return out
    }

    private static func checkedVector(_ v: [Float], dimension: Int, metric: Metric, context: @autoclosure () -> String) throws -> [Float] {
        let sumOfSquares = try Validation.checkVector(v, dimension: dimension, context: context())
        return metric == .cosine ? Distance.scaled(v, by: 1 / sumOfSquares.squareRoot()) : v
    }

    /// Deletes points by id; ids that do not exist are ignored.
    @discardableResult
    public func delete(ids: [PointID]) async throws -> WriteResult {
        try Validation.checkBatchSize(ids.count, limits: limits)
        return try await log(OperationCodec.encodeDelete(ids), .delete(ids))
    }

    private func log(_ record: consuming WALRecordBuffer, _ operation: Operation) async throws -> WriteResult {
        await waitWhileStalled()
        let size = record.bodySize
        do {
            let lsn = try await wal.append(consume record) { [self] lsn in
                let full = state.withLock { s in
                    s.apply(operation, lsn: lsn, recordBytes: size)
                    return s.active.bytes >= options.memtableFlushBytes
                }
                commitSignal.advance(to: lsn)
                if full { scheduleFlush() }
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

    var snapshot: Snapshot { state.withLock { $0.snapshot() } }

    /// The highest LSN applied: every write up to it is visible to reads.
    public var appliedLSN: UInt64 { state.withLock { $0.appliedLSN } }

    /// Exact number of live points.
    public func count() -> Int { snapshot.liveCount }

    /// The points with these ids, in the order asked, skipping ids that do not exist.
    public func get(ids: [PointID], projection: Projection = .payloadOnly) throws -> [Record] {
        let s = snapshot
        return try ids.compactMap { id in try s.find(id).map { try record(id, $0, projection) } }
    }

    /// Points in ascending id order (integers before UUIDs), starting at `offset` inclusive,
    /// only those matching `filter` if one is given.
    public func scroll(
        from offset: PointID? = nil, limit: Int = 10, projection: Projection = .payloadOnly, filter: Filter? = nil
    ) throws -> ScrollPage {
        guard limit >= 1 else { throw HSDBError.invalidArgument("scroll limit must be at least 1, got \(limit)") }
        let filter = filter.map(resolved)
        return try scroll(in: snapshot, from: offset, limit: limit, projection: projection, filter: filter)
    }

    /// Every live point as of one LSN (returned), in id order, `pageSize` at a time.
    @discardableResult
    public func forEachLivePage(pageSize: Int = 1024, projection: Projection, _ body: ([Record]) throws -> Void) throws -> UInt64 {
        let s = snapshot
        var offset: PointID?
        repeat {
            let page = try scroll(in: s, from: offset, limit: max(1, pageSize), projection: projection, filter: nil)
            try body(page.points)
            offset = page.nextOffset
        } while offset != nil
        return s.lsn
    }

    func scroll(in s: Snapshot, from offset: PointID?, limit: Int, projection: Projection, filter: Filter?) throws -> ScrollPage {
        let masks = try filter.map { f in try s.segments.map { try matching($0, f, lsn: s.lsn) } }
        let (page, next) = s.scroll(from: offset, limit: limit, filter: filter, masks: masks)
        var payloads: PagePayloads? = PagePayloads()
        return ScrollPage(points: try page.map { try record($0.0, $0.1, projection, pagePayloads: &payloads) }, nextOffset: next)
    }

    func record(_ id: PointID, _ found: Snapshot.Found, _ projection: Projection) throws -> Record {
        var none: PagePayloads?
        return try record(id, found, projection, pagePayloads: &none)
    }

    /// `pagePayloads`: the blocks of the page being read, for reads of neighbouring ordinals.
    func record(_ id: PointID, _ found: Snapshot.Found, _ projection: Projection, pagePayloads: inout PagePayloads?) throws -> Record {
        switch found {
        case .memtable(_, let p):
            return Record(
                id: id, version: p.version, vector: projection.withVector ? p.vector : nil,
                sparse: projection.withVector ? p.sparse : nil, payload: projection.withPayload ? p.payload : nil,
                named: projection.withVector ? p.named : nil)
        case .segment(let handle, let ordinal):
            do {
                return Record(
                    id: id, version: handle.segment.version(at: ordinal),
                    vector: projection.withVector && handle.segment.hasVector(at: ordinal) ? handle.segment.vector(at: ordinal) : nil,
                    sparse: projection.withVector ? handle.segment.sparseVectors(at: ordinal) : nil,
                    payload: !projection.withPayload ? nil
                        : try pagePayloads?.payload(of: handle, at: ordinal) ?? handle.segment.payload(at: ordinal),
                    named: projection.withVector ? handle.named(at: ordinal) : nil)
            } catch {
                throw HSDBError.wrap(error)
            }
        }
    }

    func close() async throws {
        closed.store(true, ordering: .sequentiallyConsistent)
        idleWatcher.withLock { $0?.cancel() }
        releaseStalledWriters()
        stopMaintenance.raise()  // a merge or flush in progress stops; both are redone from what is on disk
        await flushes.withLock {}
        await maintenance.withLock {}
        do { try await wal.close() } catch { throw HSDBError.wrap(error) }
    }
}
