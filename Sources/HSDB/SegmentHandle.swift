import Atomics
import HSDBCore
import Index
import Logging
import Segments
import Synchronization

/// A live segment of a collection: the mapped file, plus for each of its points the LSN of the
/// write that overwrote or deleted it (`ShadowSlots`).
///
/// Reference counting is the snapshot mechanism: readers hold the handle while they search;
/// when compaction replaces a segment it marks the handle obsolete, and the file is deleted
/// when the last reference goes.
final class SegmentHandle: @unchecked Sendable {
    // @unchecked Sendable: `segment`, `shadows`, `quantizer` and `fs` are immutable; the
    // caches are behind mutexes; `obsolete` is a ManagedAtomic.
    let segment: Segment
    let shadows: ShadowSlots
    /// The quantizer of the segment's codes (its mean, read once).
    let quantizer: BinaryQuantizer
    /// Bit o set when ordinal o carries a dense vector; nil when all do (read once).
    let presentVectors: [UInt64]?
    /// The further dense vectors (lanes 1...), each a handle of its own sharing these shadows,
    /// searched as a segment with one vector is; and their names.
    let lanes: [SegmentHandle]
    let laneNames: [String]
    /// The codes in the scan kernel's block layout, copied on the first code scan.
    private let codeBlocks = Mutex<CodeBlocks?>(nil)
    /// The estimator's records (code and factors per point), built on first use.
    private let estimatorRecords = Mutex<EstimatorRecordStore?>(nil)
    private let obsolete = ManagedAtomic<Bool>(false)
    /// Payload field indexes built for this segment so far, by key and type.
    private let fieldIndexes = Mutex<[String: FieldIndex]>([:])
    private let fs: any FileSystem
    private let logger: Logger

    convenience init(segment: Segment, fileSystem: any FileSystem, logger: Logger, laneNames: [String] = []) {
        precondition(laneNames.count == segment.lanes.count, "one name per further dense vector")
        let shadows = ShadowSlots(count: segment.count)
        let lanes = segment.lanes.map { SegmentHandle(segment: $0, shadows: shadows, lanes: [], laneNames: [], fileSystem: fileSystem, logger: logger) }
        self.init(segment: segment, shadows: shadows, lanes: lanes, laneNames: laneNames, fileSystem: fileSystem, logger: logger)
    }

    private init(
        segment: Segment, shadows: ShadowSlots, lanes: [SegmentHandle], laneNames: [String], fileSystem: any FileSystem, logger: Logger
    ) {
        self.segment = segment
        self.fs = fileSystem
        self.logger = logger
        self.shadows = shadows
        self.lanes = lanes
        self.laneNames = laneNames
        quantizer = BinaryQuantizer(mean: segment.quantizerMean)
        presentVectors = segment.presentVectors()
    }

    /// Lane `l`'s handle (0: this one).
    func lane(_ l: Int) -> SegmentHandle { l == 0 ? self : lanes[l - 1] }

    deinit {
        if obsolete.load(ordering: .acquiring) {
            do {
                try fs.remove(segment.path)
                logger.debug("removed compacted segment \(segment.path)")
            } catch {
                logger.warning("could not remove compacted segment \(segment.path): \(error); it is removed at the next open")
            }
        }
    }

    var count: Int { segment.count }

    /// Whether `ordinal` carries the first dense vector (nil) or the sparse or further dense
    /// vector named.
    func vectors(of ordinal: Int) -> (String?) -> Bool {
        { [segment, laneNames] name in
            guard let name else { return segment.hasVector(at: ordinal) }
            if let l = laneNames.firstIndex(of: name) { return segment.lanes[l].hasVector(at: ordinal) }
            return segment.sparseNames.firstIndex(of: name).map { segment.sparse(at: ordinal, name: $0) != nil } ?? false
        }
    }

    /// The further dense vectors `ordinal` carries, by name.
    func named(at ordinal: Int) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (l, name) in laneNames.enumerated() where segment.lanes[l].hasVector(at: ordinal) {
            let lane = segment.lanes[l]
            out[name] = lane.header.multivector ? lane.multivector(at: ordinal) : lane.vector(at: ordinal)
        }
        return out
    }

    /// The LSN that shadowed `ordinal`, or 0.
    @inline(__always)
    func shadowedAt(_ ordinal: Int) -> UInt64 { shadows.shadowedAt(ordinal) }

    /// Whether `ordinal` is the live version of its point as of `lsn`.
    @inline(__always)
    func isAlive(_ ordinal: Int, at lsn: UInt64) -> Bool { shadows.isAlive(ordinal, at: lsn) }

    /// Records that the write at `lsn` replaced or deleted `ordinal` (keeps the earliest).
    /// Call under the collection's state lock.
    func shadow(_ ordinal: Int, at lsn: UInt64) { shadows.shadow(ordinal, at: lsn) }

    /// Shadows the point with `id`, if this segment has it.
    func shadow(id: PointID, at lsn: UInt64) {
        if let o = segment.ordinal(of: id) { shadow(o, at: lsn) }
    }

    /// Ordinals shadowed at or before `lsn`, ascending (what the manifest persists).
    func dead(upTo lsn: UInt64) -> [Int] { shadows.dead(upTo: lsn) }

    func liveCount(at lsn: UInt64) -> Int { shadows.liveCount(at: lsn, visible: count) }

    /// Bit o set when ordinal o is live at `lsn`, one UInt64 per 64 ordinals; nil when no
    /// ordinal was ever shadowed (all are live).
    func liveBitmap(at lsn: UInt64) -> [UInt64]? { shadows.liveBitmap(at: lsn, visible: count) }

    /// The segment's codes in the scan kernel's layout (a heap copy, made on first use).
    func blocks() -> CodeBlocks {
        codeBlocks.withLock { cached in
            if let cached { return cached }
            let made = segment.withIndex { CodeBlocks($0.codes, count: count) }
            cached = made
            return made
        }
    }

    /// The estimator's records of the segment's points (a heap copy, made on first use).
    func records() -> EstimatorRecordStore {
        estimatorRecords.withLock { cached in
            if let cached { return cached }
            let made = segment.withIndex { EstimatorRecordStore($0.vectors, count: count, quantizer: quantizer) }
            cached = made
            return made
        }
    }

    /// The index of `key` for this segment, built on first use (one scan of its payloads).
    func fieldIndex(_ key: String, _ type: PayloadIndexType) throws -> FieldIndex {
        let name = key + "\u{0}" + String(type.rawValue)
        if let built = fieldIndexes.withLock({ $0[name] }) { return built }
        let index = try FieldIndex(segment: self, key: key, type: type)
        fieldIndexes.withLock { $0[name] = index }
        return index
    }

    /// The file is to be deleted once no snapshot holds this handle.
    func markObsolete() { obsolete.store(true, ordering: .releasing) }
}
