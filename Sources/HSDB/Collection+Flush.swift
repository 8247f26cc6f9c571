import CoreMetrics
import HashTreeCollections
import HSDBCore
import Segments
import WAL

extension Collection {
    static let segmentsDirectoryName = "segments"
    var segmentsDirectory: String { directory + "/" + Self.segmentsDirectoryName }

    /// Writes everything in the memtable to a segment and waits for it. Writes go on while
    /// the segment is built (into a new memtable); reads see the frozen memtable until the
    /// segment replaces it, so a flush is invisible to them.
    public func flush() async throws {
        try await flushes.withLock { try await flushFrozenAndActive() }
        scheduleMerge()  // the new segments have no graph yet
    }

    /// Whether a flush or merge is running or scheduled.
    public var maintenanceRunning: Bool {
        flushScheduled.load(ordering: .acquiring) || mergeScheduled.load(ordering: .acquiring) || !maintenanceTasks.running.isEmpty
    }

    /// Waits until no flush or merge is running or scheduled: the layers then stay as they are
    /// until the next write fills the memtable (for benchmarks and tools that measure the
    /// layout the engine settles on).
    public func waitForMaintenance() async {
        let scheduled = { self.flushScheduled.load(ordering: .acquiring) || self.mergeScheduled.load(ordering: .acquiring) }
        while !closed.load(ordering: .relaxed) {
            if !scheduled() {
                await flushes.withLock {}
                await maintenance.withLock {}
                if !scheduled() { return }
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Why a background flush is started; it flushes only if that still holds when it runs
    /// (an explicit `flush()` may have emptied the memtable meanwhile, and a memtable that is
    /// no longer full must not be cut short: a snapshot, for one, relies on what it ships).
    enum FlushTrigger {
        /// The memtable reached `memtableFlushBytes` (or a failed flush left a frozen one).
        case full
        /// Writers wait on `memtableStallBytes`.
        case stall
        /// The memtable took no write for a while (`IdleFlush`).
        case idle

        func holds(_ s: borrowing CollectionState, _ options: DatabaseOptions) -> Bool {
            let full = s.active.bytes >= options.memtableFlushBytes || !s.frozen.isEmpty
            switch self {
            case .full: return full
            case .stall: return full || s.unflushedBytes >= options.memtableStallBytes
            case .idle: return full || !s.active.isEmpty
            }
        }
    }

    /// Starts a background flush unless one is already scheduled.
    func scheduleFlush(_ trigger: FlushTrigger = .full) {
        guard !closed.load(ordering: .relaxed), flushScheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return
        }
        Task.detached { [self] in
            defer { flushScheduled.store(false, ordering: .releasing) }
            guard state.withLock({ trigger.holds($0, options) }) else { return }
            while !closed.load(ordering: .relaxed) {
                do {
                    try await flush()
                } catch {
                    if closed.load(ordering: .relaxed) {
                        logger.info("collection '\(name)': flush stopped: the collection is closing (the WAL keeps every write)")
                        return
                    }
                    logger.error("collection '\(name)': flush failed: \(error); the memtable stays in memory and the WAL keeps every write; retrying at the next threshold")
                    // Stalled writers retry the flush; a pause keeps a persistent failure
                    // (a full disk) from turning into a busy loop.
                    try? await Task.sleep(for: .milliseconds(200))
                    releaseStalledWriters()
                    return
                }
                // Writes that filled the memtable meanwhile found this task scheduled: go again.
                guard state.withLock({ $0.active.bytes >= options.memtableFlushBytes }) else { return }
            }
        }
    }

    /// Starts merging by policy in the background unless a merge is already running (it looks
    /// at the segments again after each merge, so it sees the flushes that finish meanwhile).
    func scheduleMerge() {
        guard options.compaction.enabled, !closed.load(ordering: .relaxed),
            mergeScheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        Task.detached { [self] in
            defer { mergeScheduled.store(false, ordering: .releasing) }
            do {
                try await maintenance.withLock { try await compactByPolicy() }
            } catch {
                if closed.load(ordering: .relaxed) {
                    logger.info("collection '\(name)': merge stopped: the collection is closing (the segments stay as they are)")
                    return
                }
                logger.error("collection '\(name)': compaction failed: \(error); the segments stay as they are")
            }
        }
    }

    /// Changes the segment list (or the manifest) under the state lock and publishes the
    /// manifest for the result, in one turn of `manifestUpdates`; the flushed LSN only rises.
    func updateSegments(flushedLSN: UInt64? = nil, _ change: (inout CollectionState) -> Void) async throws {
        try await manifestUpdates.withLock {
            let (segments, lsn) = state.withLock { s in
                change(&s)
                return (s.segments, max(s.manifest.flushedLSN, flushedLSN ?? 0))
            }
            try await publishManifest(segments: segments, flushedLSN: lsn)
        }
    }

    /// Freezes the active memtable, then flushes frozen memtables oldest first (one left by a
    /// failed flush goes before newer ones, so shadows are always set by newer layers).
    func flushFrozenAndActive() async throws {
        state.withLock { s in
            guard !s.active.isEmpty else { return }
            s.freezeActive()
        }
        while let oldest = state.withLock({ $0.frozen.last }) {
            try await flush(oldest)
        }
    }

    private func flush(_ frozen: FrozenMemtable) async throws {
        let live = frozen.points.values.reduce(0) { $0 + ($1.isTombstone ? 0 : 1) }
        try await tracked(.flush, inputs: [.init(contentID: nil, points: live)]) { try await write(frozen) }
    }

    /// The flush itself; returns the content id of the segment it made.
    private func write(_ frozen: FrozenMemtable) async throws -> String? {
        let started = ContinuousClock.now
        let dimension = config.dimension
        let sparseNames = config.sparseVectors.keys.sorted()
        let lanes = config.namedVectors
        let handle = try await writeSegment("hsdb.flush", buildsGraph: options.flushesBuildGraphs) {
            MemtableSegmentSource(
                points: frozen.points.filter { !$0.value.isTombstone }, dimension: dimension, sparseNames: sparseNames, lanes: lanes)
        }
        try await updateSegments(flushedLSN: frozen.lastLSN) { s in
            if let handle {
                // Writes that arrived after the freeze replace some of the new segment's points.
                let position = s.frozen.firstIndex { $0 === frozen } ?? 0
                for (id, p) in s.active.points { handle.shadow(id: id, at: p.version) }
                for newer in s.frozen[..<position] { for (id, p) in newer.points { handle.shadow(id: id, at: p.version) } }
                s.segments.insert(handle, at: 0)
            }
            s.frozen.removeAll { $0 === frozen }
        }
        releaseStalledWriters()
        flushCount.add(1, ordering: .relaxed)
        CoreMetrics.Timer(label: "hsdb_flush_duration", dimensions: [("collection", name)]).recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        logger.info(
            "collection '\(name)': flushed \(handle?.count ?? 0) points up to LSN \(frozen.lastLSN) into \(handle.map { lastPathComponent($0.segment.path) } ?? "no segment") in \(ContinuousClock.now - started)")
        return handle?.segment.contentID
    }

    /// Builds a segment of this collection from the source `make` returns (on a thread of its
    /// own: sorting, quantizing and graph building are long), publishes and opens it; nil for
    /// an empty source. Flush and compaction both make their segments here. Without a graph
    /// the work is short and writers may be waiting for it, so it runs at full priority.
    func writeSegment<S: SegmentSource & Sendable>(
        _ label: String, buildsGraph: Bool = true, _ make: @escaping @Sendable () -> S
    ) async throws -> SegmentHandle? {
        let (fs, directory, logger, stop) = (fs, segmentsDirectory, logger, stopMaintenance)
        let (quantizer, laneQuantizers) = state.withLock { ($0.codeQuantizer, $0.laneQuantizers) }
        var index = SegmentIndexOptions(
            metric: config.metric, m: config.hnswM, efConstruction: config.hnswEfConstruction,
            minGraphPoints: buildsGraph ? options.minGraphPoints : .max, buildThreads: options.indexThreads, quantizer: quantizer)
        index.buildNice = options.indexThreadNice
        index.lanes = zip(config.namedVectors, laneQuantizers).map { v, q in
            LaneIndexOptions(metric: v.metric, m: v.hnswM, efConstruction: v.hnswEfConstruction, quantizer: q, multivector: v.multivector)
        }
        let laneNames = config.namedVectors.map(\.name)
        return try await runBlocking(label, nice: buildsGraph ? options.indexThreadNice : 0) { [index] in
            let source = make()
            guard source.count > 0 else { return nil }
            do {
                let info = try SegmentWriter.write(source, options: index, directory: directory, fileSystem: fs, stop: stop)
                let segment = try Segment.open(path: directory + "/" + info.fileName, fileSystem: fs)
                return SegmentHandle(segment: segment, fileSystem: fs, logger: logger, laneNames: laneNames)
            } catch {
                throw HSDBError.wrap(error)
            }
        }
    }

    /// Writes the manifest for `segments` (newest first) with `flushedLSN`, after making the
    /// WAL durable up to it (in `none` mode the flushed records might not be on disk yet, and
    /// the log must never end before the manifest's LSN). Then applies WAL retention.
    func publishManifest(segments: [SegmentHandle], flushedLSN: UInt64) async throws {
        do { try await wal.sync() } catch { throw HSDBError.wrap(error) }
        var manifest = state.withLock { $0.manifest }
        manifest.version += 1
        manifest.flushedLSN = flushedLSN
        manifest.segments = segments.reversed().map { h in
            Manifest.SegmentEntry(
                contentID: h.segment.contentID, count: h.count, minLSN: h.segment.header.minLSN, maxLSN: h.segment.header.maxLSN,
                bytes: h.segment.bytes, dead: h.dead(upTo: flushedLSN))
        }
        let (fs, path, bytes) = (fs, directory + "/" + Manifest.fileName, manifest.encode())
        try await runBlocking("hsdb.manifest") {
            do { try fs.writeFileAtomically(path, bytes: bytes) } catch { throw HSDBError.wrap(error) }
        }
        state.withLock { $0.manifest = manifest }
        CrashPoint.reach("manifest-after-publish")
        applyWALRetention(flushedLSN: flushedLSN)
    }

    /// Deletes flushed WAL files the retention policy no longer wants (oldest first, never the
    /// active file, never one holding records after the flushed LSN or a pinned one).
    func applyWALRetention(flushedLSN: UInt64) {
        let walDirectory = directory + "/" + Self.walDirectoryName
        do {
            let files = try WALRecovery.listWALFiles(fs, walDirectory)
            var infos: [WALFileInfo] = []
            for (i, (name, first)) in files.enumerated() {
                let last = i + 1 < files.count ? files[i + 1].1 - 1 : UInt64.max
                let file = try fs.open(walDirectory + "/" + name, mode: .readOnly)
                defer { try? file.close() }
                infos.append(WALFileInfo(name: name, firstLSN: first, lastLSN: last, bytes: try file.size(), ageSeconds: 0))
            }
            let pinned = walPins.withLock { $0.oldest }
            let doomed = WALRetention.filesToDelete(infos, flushedLSN: flushedLSN, pinnedLSN: pinned, policy: options.walRetention)
            for name in doomed { try fs.remove(walDirectory + "/" + name) }
            if !doomed.isEmpty {
                try fs.syncDirectory(walDirectory)
                logger.info("collection '\(name)': removed \(doomed.count) flushed WAL file(s) beyond the retention policy")
            }
        } catch {
            logger.warning("collection '\(name)': WAL retention skipped: \(error)")
        }
    }
}

/// A frozen memtable's live points as a segment's input, sorted by id.
struct MemtableSegmentSource: SegmentSource {
    let ids: [PointID]
    let points: TreeDictionary<PointID, StoredPoint>
    let dimension: Int
    let sparseNames: [String]
    let lanes: [NamedVectorConfig]

    init(points: TreeDictionary<PointID, StoredPoint>, dimension: Int, sparseNames: [String], lanes: [NamedVectorConfig] = []) {
        self.points = points
        self.dimension = dimension
        self.sparseNames = sparseNames
        self.lanes = lanes
        ids = points.keys.sorted()
    }

    var laneDimensions: [Int] { lanes.map(\.dimension) }
    func multivector(_ ordinal: Int, lane: Int) -> [Float]? { points[ids[ordinal]]!.multivectors[lanes[lane - 1].name] }

    var count: Int { ids.count }
    func id(_ ordinal: Int) -> PointID { ids[ordinal] }
    func version(_ ordinal: Int) -> UInt64 { points[ids[ordinal]]!.version }
    func hasVector(_ ordinal: Int) -> Bool { points[ids[ordinal]]!.row!.isPresent }
    func copyVector(_ ordinal: Int, into p: UnsafeMutablePointer<Float>) {
        points[ids[ordinal]]!.row!.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: $0.count) }
    }
    func hasVector(_ ordinal: Int, lane: Int) -> Bool {
        let row = points[ids[ordinal]]!.row!
        return lane == 0 ? row.isPresent : row.chunk.lanes[lane - 1].hasVector(Int(row.slot))
    }
    func copyVector(_ ordinal: Int, lane: Int, into p: UnsafeMutablePointer<Float>) {
        guard lane > 0 else { return copyVector(ordinal, into: p) }
        let row = points[ids[ordinal]]!.row!, chunk = row.chunk.lanes[lane - 1]
        p.initialize(from: chunk.vector(Int(row.slot)), count: chunk.vectors.dimension)
    }
    func payload(_ ordinal: Int) -> [UInt8] { PayloadCodec.encode(points[ids[ordinal]]!.payload) }
    func sparse(_ ordinal: Int, name: Int) -> SparseVector? { points[ids[ordinal]]!.sparse[sparseNames[name]] }
}
