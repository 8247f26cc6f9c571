import CoreMetrics
import HSDBCore
import Index
import Segments

extension Collection {
    /// Merges every segment into one (dropping dead points) and waits for it. For operators
    /// (`hsdb compact`) and tests; the engine merges by its policy on its own after flushes.
    public func compact() async throws {
        try await maintenance.withLock {
            let (all, lsn) = state.withLock { ($0.segments, $0.manifest.flushedLSN) }
            if all.count > 1 || all.contains(where: { $0.liveCount(at: lsn) < $0.count }) {
                try await merge(all)
            }
        }
    }

    /// Runs the policy (indexing, then tiers) until it has nothing to merge (at most 16
    /// merges a turn; the next flush schedules another). Flushes go on meanwhile. Sizes are
    /// judged at the flushed LSN, as merges drop points (see `merge`): counting deaths still
    /// in the memtable would also let a busy writer keep one segment in endless rewrites.
    /// Call holding `maintenance`.
    func compactByPolicy() async throws {
        for _ in 0..<16 {
            let (segments, lsn) = state.withLock { ($0.segments, $0.manifest.flushedLSN) }
            let candidates = segments.enumerated().map { i, h in
                CompactionPolicy.Candidate(index: i, live: h.liveCount(at: lsn), total: h.count, hasGraph: h.segment.header.hasGraph)
            }
            let picked = options.compaction.pick(candidates, minGraphPoints: options.minGraphPoints)
            guard !picked.isEmpty else { return }
            try await merge(picked.map { segments[$0] })
        }
    }

    /// Replaces `inputs` by one segment of their points live now. Writes keep going: a point
    /// replaced while the merge runs has its shadow carried over to the merged segment when it
    /// is installed, so the swap is a pointer switch under the state lock. Call holding
    /// `maintenance`.
    ///
    /// It drops only points dead at the flushed LSN, not at the applied one: the manifest it
    /// is published with (and so a backup or a follower's snapshot) pairs the segments with
    /// the WAL from the flushed LSN on, and a restore to any LSN after that must find every
    /// point then live in them (a point deleted by a write still in the memtable stays, with
    /// its shadow carried over, until a merge after that write's flush).
    func merge(_ inputs: [SegmentHandle]) async throws {
        let lsn = state.withLock { min($0.appliedLSN, $0.manifest.flushedLSN) }
        let described = inputs.map { MaintenanceTask.Input(contentID: $0.segment.contentID, points: $0.liveCount(at: lsn)) }
        try await tracked(.merge, inputs: described) { try await write(merging: inputs, at: lsn) }
    }

    /// The merge itself; returns the content id of the segment it made.
    private func write(merging inputs: [SegmentHandle], at lsn: UInt64) async throws -> String? {
        let started = ContinuousClock.now
        var source = MergeSource(inputs: inputs, lsn: lsn, dimension: config.dimension, sparseNames: config.sparseVectors.keys.sorted())
        source.carriesGraph = options.mergeCarriesGraph
        let made = source
        let merged = try await writeSegment("hsdb.compact") { made }
        try await updateSegments { s in
            if let merged {
                for o in 0..<merged.count {
                    let (input, ordinal) = source.origin[o]
                    let shadow = inputs[input].shadowedAt(ordinal)
                    if shadow != 0 { merged.shadow(o, at: shadow) }
                }
            }
            let doomed = Set(inputs.map { ObjectIdentifier($0) })
            let at = s.segments.firstIndex { doomed.contains(ObjectIdentifier($0)) } ?? 0
            s.segments.removeAll { doomed.contains(ObjectIdentifier($0)) }
            if let merged { s.segments.insert(merged, at: min(at, s.segments.count)) }
        }
        CrashPoint.reach("compaction-before-retire")
        // Only now that the manifest no longer lists them may the inputs' files go; each goes
        // when the last snapshot holding it is dropped. Segment files are named by their
        // content: an input whose points come out unchanged (one segment, nothing to purge)
        // has the output's very name, and its file is the output's, so it stays.
        for h in inputs where h.segment.path != merged?.segment.path { h.markObsolete() }
        compactionCount.add(1, ordering: .relaxed)
        CoreMetrics.Timer(label: "hsdb_compaction_duration", dimensions: [("collection", name)]).recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        logger.info(
            "collection '\(name)': compacted \(inputs.count) segment(s) (\(inputs.reduce(0) { $0 + $1.count }) points) into \(merged?.count ?? 0) live points in \(ContinuousClock.now - started)")
        return merged?.segment.contentID
    }
}

/// The points of several segments live at one LSN, merged in id order. Live points of
/// different segments never share an id (a newer write shadows every older version).
struct MergeSource: SegmentSource {
    let inputs: [SegmentHandle]
    /// For each output ordinal: (input index, input ordinal).
    let origin: [(Int, Int)]
    let dimension: Int
    let sparseNames: [String]
    /// For each input, the position of each of `sparseNames` in its own names (nil: absent).
    let sparsePositions: [[Int?]]
    /// Whether the merged graph may start from an input's (`DatabaseOptions.mergeCarriesGraph`).
    var carriesGraph = true
    let payloads = MergePayloads()

    init(inputs: [SegmentHandle], lsn: UInt64, dimension: Int, sparseNames: [String]) {
        self.inputs = inputs
        self.dimension = dimension
        self.sparseNames = sparseNames
        sparsePositions = inputs.map { h in sparseNames.map { h.segment.sparseNames.firstIndex(of: $0) } }
        var cursors = [Int](repeating: 0, count: inputs.count)
        var origin: [(Int, Int)] = []
        origin.reserveCapacity(inputs.reduce(0) { $0 + $1.count })
        while true {
            var best: (PointID, Int)?
            for (i, h) in inputs.enumerated() {
                while cursors[i] < h.count && !h.isAlive(cursors[i], at: lsn) { cursors[i] += 1 }
                guard cursors[i] < h.count else { continue }
                let id = h.segment.id(at: cursors[i])
                if best == nil || id < best!.0 { best = (id, i) }
            }
            guard let (_, i) = best else { break }
            origin.append((i, cursors[i]))
            cursors[i] += 1
        }
        self.origin = origin
    }

    var count: Int { origin.count }

    /// The graph of the input that carries the most points into the merge, if it has one of
    /// `m` links and loses few of its nodes (`CarriedGraph.maximumDroppedFraction`): the merge
    /// then inserts only the other inputs' points into it.
    func withCarriedGraph<R>(m: Int, lane: Int, _ body: (CarriedGraph?) throws -> R) rethrows -> R {
        var carried = [Int](repeating: 0, count: inputs.count)
        for (i, _) in origin { carried[i] += 1 }
        let usable = inputs.indices.filter { i in
            let h = inputs[i], segment = h.segment.lane(lane)
            return segment.header.hasGraph && segment.header.m == m
                && Double(h.count - carried[i]) <= CarriedGraph.maximumDroppedFraction * Double(h.count)
        }
        guard carriesGraph, let chosen = usable.max(by: { carried[$0] < carried[$1] }) else { return try body(nil) }
        var newNode = [UInt32](repeating: CarriedGraph.dropped, count: inputs[chosen].count)
        for (o, (i, ordinal)) in origin.enumerated() where i == chosen { newNode[ordinal] = UInt32(o) }
        return try inputs[chosen].segment.lane(lane).withIndex { index in
            try body(index.graph.map { CarriedGraph(graph: $0, newNode: newNode) })
        }
    }

    func id(_ o: Int) -> PointID { inputs[origin[o].0].segment.id(at: origin[o].1) }
    func version(_ o: Int) -> UInt64 { inputs[origin[o].0].segment.version(at: origin[o].1) }
    func hasVector(_ o: Int) -> Bool { inputs[origin[o].0].segment.hasVector(at: origin[o].1) }
    var laneDimensions: [Int] { inputs.first?.segment.lanes.map(\.dimension) ?? [] }
    func multivector(_ o: Int, lane: Int) -> [Float]? { inputs[origin[o].0].segment.lane(lane).multivector(at: origin[o].1) }
    func hasVector(_ o: Int, lane: Int) -> Bool { inputs[origin[o].0].segment.lane(lane).hasVector(at: origin[o].1) }
    func copyVector(_ o: Int, lane: Int, into p: UnsafeMutablePointer<Float>) {
        inputs[origin[o].0].segment.lane(lane).withVector(at: origin[o].1) { p.initialize(from: $0.baseAddress!, count: $0.count) }
    }
    func copyVector(_ o: Int, into p: UnsafeMutablePointer<Float>) {
        inputs[origin[o].0].segment.withVector(at: origin[o].1) { p.initialize(from: $0.baseAddress!, count: $0.count) }
    }
    /// Copied as stored; a damaged block fails the merge (the inputs stay as they are) rather
    /// than being carried into a new, valid-looking file.
    func payload(_ o: Int) throws -> [UInt8] {
        let (input, ordinal) = origin[o]
        return try payloads.bytes(input: input, ordinal: ordinal, of: inputs[input].segment)
    }
    func sparse(_ o: Int, name: Int) -> SparseVector? {
        let (input, ordinal) = origin[o]
        return sparsePositions[input][name].flatMap { inputs[input].segment.sparse(at: ordinal, name: $0) }
    }
}
