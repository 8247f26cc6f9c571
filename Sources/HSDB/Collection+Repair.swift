import HSDBCore
import Segments

/// Points to set right on a copy found to differ from a reference copy (its leader) at one
/// LSN, and what this copy held of each then. DESIGN.md, "Anti-entropy repair".
public struct PointRepair: Sendable {
    /// The reference copy's points, each at its version there.
    public var points: [(point: Point, version: UInt64)] = []
    /// Points the reference copy does not hold.
    public var removed: [PointID] = []
    /// This copy's live version of every id above when the difference was found (nil:
    /// absent, so not listed). An id whose live version has moved since (a later write) is
    /// left alone.
    public var expected: [PointID: UInt64] = [:]

    public init() {}
}

public struct PointRepairResult: Sendable, Equatable {
    public var replaced = 0
    public var removed = 0
    /// Ids left alone: written since, or still in a memtable.
    public var skipped: [PointID] = []
}

extension Collection {
    /// Sets the points of `repair` right without a WAL record (the log already equals the
    /// reference's): flushes, writes the reference's points into a segment of their own at
    /// their versions, and in one manifest update puts it above the other segments and marks
    /// dead this copy's live ordinals of every id repaired or removed. The state tree follows.
    /// Ids still in a memtable, or written since the difference was found, are skipped.
    public func repair(_ repair: PointRepair) async throws -> PointRepairResult {
        try await flush()
        return try await maintenance.withLock {
            let handle = try await repairSegment(repair.points)
            var result = PointRepairResult()
            var aborted = false
            try await updateSegments { s in
                let dead = s.manifest.flushedLSN
                let ids = repair.points.map(\.point.id) + repair.removed
                let movable = Set(ids.filter { s.repairable($0, expected: repair.expected[$0]) })
                if let handle {
                    // A skipped point is dead in the new segment; shadows need a flushed LSN.
                    let skippedHere = repair.points.map(\.point.id).filter { !movable.contains($0) }
                    if dead == 0 && !skippedHere.isEmpty {
                        aborted = true
                        return
                    }
                    for id in skippedHere { handle.shadow(id: id, at: dead) }
                }
                for id in ids where movable.contains(id) {
                    s.markDead(id, at: dead, expected: repair.expected[id])
                }
                for (p, v) in repair.points where movable.contains(p.id) { s.tree.insert(p.id, version: v) }
                if let handle { s.segments.insert(handle, at: 0) }
                result.replaced = repair.points.filter { movable.contains($0.point.id) }.count
                result.removed = repair.removed.filter { movable.contains($0) }.count
                result.skipped = ids.filter { !movable.contains($0) }
            }
            if aborted {
                handle?.markObsolete()
                result = PointRepairResult(skipped: repair.points.map(\.point.id) + repair.removed)
            }
            logger.info(
                "collection '\(name)': repaired \(result.replaced) point(s) and removed \(result.removed) from the reference copy (\(result.skipped.count) skipped)")
            return result
        }
    }

    /// A segment of `points` at their versions (nil for none), written as a flush writes one.
    private func repairSegment(_ points: [(point: Point, version: UInt64)]) async throws -> SegmentHandle? {
        guard !points.isEmpty else { return nil }
        let (quantizer, laneQuantizers) = state.withLock { ($0.codeQuantizer, $0.laneQuantizers) }
        let (dimension, lanes, sparseNames) = (config.dimension, config.namedVectors, config.sparseVectors.keys.sorted())
        let rowQuantizers = zip(lanes, laneQuantizers).map { $0.multivector ? nil : $1 }
        var memtable = Memtable(dimension: dimension, quantizer: quantizer, lanes: lanes, laneQuantizers: rowQuantizers)
        // A memtable takes operations in LSN order; points of one record share a version.
        for group in Dictionary(grouping: points, by: \.version).sorted(by: { $0.key < $1.key }) {
            memtable.apply(.upsert(group.value.map(\.point)), lsn: group.key, recordBytes: 0)
        }
        let stored = memtable.points
        return try await writeSegment("hsdb.repair", buildsGraph: options.flushesBuildGraphs) {
            MemtableSegmentSource(points: stored, dimension: dimension, sparseNames: sparseNames, lanes: lanes)
        }
    }
}

extension CollectionState {
    /// Whether `id` may be repaired: no memtable holds it, and its live version in the
    /// segments is `expected` (nil: absent).
    func repairable(_ id: PointID, expected: UInt64?) -> Bool {
        if active.points[id] != nil || frozen.contains(where: { $0.points[id] != nil }) { return false }
        return liveSegmentVersion(id) == expected
    }

    func liveSegmentVersion(_ id: PointID) -> UInt64? {
        for s in segments {
            if let o = s.segment.ordinal(of: id), s.isAlive(o, at: appliedLSN) { return s.segment.version(at: o) }
        }
        return nil
    }

    /// Marks the live segment ordinal of `id` dead as of `lsn` (the flushed LSN, so the
    /// manifest records it) and takes its leaf out of the tree.
    mutating func markDead(_ id: PointID, at lsn: UInt64, expected: UInt64?) {
        for s in segments {
            if let o = s.segment.ordinal(of: id), s.isAlive(o, at: appliedLSN) { s.shadow(o, at: lsn) }
        }
        if let expected { tree.remove(id, version: expected) }
    }
}
