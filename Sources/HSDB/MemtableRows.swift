import Dispatch
import HSDBCore
import Index

/// A memtable's points as rows, one per upserted point in LSN order, in append-only chunks:
/// the vector, its 1-bit code (in the scan kernel's block layout) and the id, with a shadow
/// slot per row as a segment has per point. So a memtable is searched as a segment is (a
/// code scan, then exact rescoring) instead of point by point through its hash tree, and a
/// row replaced by a later write (in this memtable or a newer one) is marked dead by the same
/// shadow rule as a segment's points (DESIGN.md, "Memtable rows").
///
/// Codes need a quantizer: the collection's, given at creation, or, for a collection that has
/// none yet, one fitted on the first `fitRows` rows (and those rows encoded then). Until then
/// the memtable is small and searched exactly.
///
/// A collection with further dense vectors keeps a lane of rows per vector beside the first
/// (`RowChunk.lanes`): the same rows, ids and shadows, its own vectors, codes and absent bits.
///
/// Non-copyable: two copies would hand out the same rows.
struct MemtableRows: ~Copyable {
    let dimension: Int
    let words: Int
    /// The further dense vectors' names and dimensions (lanes 1, 2, ...).
    let laneNames: [String]
    let laneDimensions: [Int]
    private(set) var chunks: [RowChunk] = []
    private(set) var count = 0
    private(set) var quantizer: BinaryQuantizer?
    /// The lanes' quantizers (nil until given or fitted, as `quantizer`).
    private(set) var laneQuantizers: [BinaryQuantizer?]
    /// The rows in id order (for scrolls), kept as they arrive.
    let order = RowOrder()
    /// Vectors of a full-size chunk mapped ahead of need, their pages populated in the
    /// background (measured: zeroing fresh memory was half of WAL replay's time on this VM).
    private var ahead: VectorChunk?
    private var nextCapacity = Self.firstChunkRows

    /// Rows a memtable without a quantizer collects before fitting one.
    static let fitRows = 1024
    static let firstChunkRows = 256
    static let maxChunkBytes = 64 << 20

    init(dimension: Int, quantizer: BinaryQuantizer?, lanes: [NamedVectorConfig] = [], laneQuantizers: [BinaryQuantizer?] = []) {
        precondition(dimension > 0 && laneQuantizers.count <= lanes.count)
        self.dimension = dimension
        self.quantizer = quantizer
        words = BinaryQuantizer.words(forDimension: dimension)
        laneNames = lanes.map(\.name)
        laneDimensions = lanes.map(\.dimension)
        self.laneQuantizers = laneQuantizers + [BinaryQuantizer?](repeating: nil, count: lanes.count - laneQuantizers.count)
    }

    /// Rows per chunk once chunks stop growing: 64 MiB of vectors, a multiple of 64 (so a
    /// chunk's rows are whole bitmap words), at most 65,536.
    var maxChunkRows: Int { min(max(Self.maxChunkBytes / (dimension * 4) / 64 * 64, Self.firstChunkRows), 1 << 16) }

    var view: RowsView {
        RowsView(chunks: chunks, count: count, quantizer: quantizer, order: order, laneQuantizers: laneQuantizers)
    }

    /// Copies `vector` (exactly `dimension` values) into a new row for `id`; nil: the point
    /// carries no dense vector (its row holds zeros, is marked absent, and no search keeps it).
    /// `lanes`: the further vectors, one per lane (nil: absent), copied into the row's lanes.
    mutating func append(id: PointID, vector: UnsafeBufferPointer<Float>?, lanes: [[Float]?] = []) -> VectorRef {
        precondition(vector.map { $0.count == dimension } ?? true)
        if chunks.last.map({ count - $0.firstRow == $0.capacity }) ?? true { addChunk() }
        let chunk = chunks[chunks.count - 1]
        let slot = count - chunk.firstRow
        chunk.store(vector, at: slot, quantizer: quantizer)
        for (l, lane) in chunk.lanes.enumerated() {
            let v = l < lanes.count ? lanes[l] : nil
            precondition(v.map { $0.count == laneDimensions[l] } ?? true)
            if let v { v.withUnsafeBufferPointer { lane.store($0, at: slot, quantizer: laneQuantizers[l]) } } else {
                lane.store(nil, at: slot, quantizer: laneQuantizers[l])
            }
        }
        (chunk.ids + slot).initialize(to: id)
        count += 1
        if count == Self.fitRows { fitQuantizers() }
        return VectorRef(chunk: chunk, slot: Int32(slot))
    }

    private mutating func addChunk() {
        let vectors = ahead.flatMap { $0.slots == nextCapacity ? $0 : nil } ?? VectorChunk(dimension: dimension, slots: nextCapacity)
        ahead = nil
        let lanes = laneDimensions.map { VectorChunk(dimension: $0, slots: nextCapacity) }
        let chunk = RowChunk(firstRow: count, vectors: vectors, words: words, lanes: lanes, laneNames: laneNames)
        chunks.append(chunk)
        nextCapacity = min(nextCapacity * 2, maxChunkRows)
        if nextCapacity == maxChunkRows && chunk.capacity == maxChunkRows {
            let next = VectorChunk(dimension: dimension, slots: nextCapacity)
            DispatchQueue.global(qos: .utility).async { next.populate() }
            ahead = next
        }
    }

    /// Centres the codes of each vector without a quantizer on the mean of its rows so far,
    /// and encodes them.
    private mutating func fitQuantizers() {
        if quantizer == nil { quantizer = fit(chunks) }
        for l in laneQuantizers.indices where laneQuantizers[l] == nil { laneQuantizers[l] = fit(chunks.map { $0.lanes[l] }) }
    }

    private func fit(_ chunks: [RowChunk]) -> BinaryQuantizer {
        let dimension = chunks[0].vectors.dimension
        var sum = [Double](repeating: 0, count: dimension)
        var present = 0
        for chunk in chunks {
            for slot in 0..<min(chunk.capacity, count - chunk.firstRow) where chunk.hasVector(slot) {
                let v = chunk.vectors.base + slot * dimension
                for i in 0..<dimension { sum[i] += Double(v[i]) }
                present += 1
            }
        }
        let fitted = BinaryQuantizer(mean: sum.map { Float($0 / Double(max(present, 1))) })
        for chunk in chunks {
            for slot in 0..<min(chunk.capacity, count - chunk.firstRow) { chunk.encode(slot, fitted) }
        }
        return fitted
    }
}

/// A chunk of memtable rows. `@unchecked Sendable`: every stored property is a `let`; each
/// row's vector, id and code are written once, under the collection's state lock, before the
/// row is published (the memtable's count, read under the same lock by snapshots), and only
/// read afterwards; shadows are atomics (`ShadowSlots`).
///
/// A lane (a further dense vector's rows) is a chunk of its own sharing its chunk's ids and
/// shadows, so a search of one dense vector reads its lane as it reads the first.
final class RowChunk: @unchecked Sendable {
    let firstRow: Int
    let capacity: Int
    let vectors: VectorChunk
    private let idStorage: RowIDs
    /// The further dense vectors' rows (empty in a lane), and their names.
    let lanes: [RowChunk]
    let laneNames: [String]
    let codes: GrowingCodeBlocks
    /// Each row's code and estimator factors (`CodeEstimator`), beside the block layout.
    let records: UnsafeMutableRawPointer
    let recordBytes: Int
    let shadows: ShadowSlots
    /// Bit s set when slot s carries no dense vector (written before the row is published).
    let absent: UnsafeMutablePointer<UInt64>

    /// Rows for the slots of `vectors` (a multiple of 64), starting at row `firstRow`, with a
    /// lane for each of `lanes` (as many slots).
    convenience init(firstRow: Int, vectors: VectorChunk, words: Int, lanes: [VectorChunk] = [], laneNames: [String] = []) {
        let ids = RowIDs(capacity: vectors.slots), shadows = ShadowSlots(count: vectors.slots)
        let laneChunks = lanes.map {
            RowChunk(
                firstRow: firstRow, vectors: $0, words: BinaryQuantizer.words(forDimension: $0.dimension), ids: ids, shadows: shadows,
                lanes: [], laneNames: [])
        }
        self.init(firstRow: firstRow, vectors: vectors, words: words, ids: ids, shadows: shadows, lanes: laneChunks, laneNames: laneNames)
    }

    private init(
        firstRow: Int, vectors: VectorChunk, words: Int, ids: RowIDs, shadows: ShadowSlots, lanes: [RowChunk], laneNames: [String]
    ) {
        precondition(vectors.slots % 64 == 0 && lanes.count == laneNames.count)
        self.firstRow = firstRow
        self.vectors = vectors
        self.lanes = lanes
        self.laneNames = laneNames
        capacity = vectors.slots
        idStorage = ids
        self.shadows = shadows
        let storage = UnsafeMutableRawPointer.allocate(
            byteCount: GrowingCodeBlocks.storageWords(capacity: capacity, words: words) * 8, alignment: 64)
        codes = GrowingCodeBlocks(base: storage.bindMemory(to: UInt64.self, capacity: capacity * words), words: words, capacity: capacity)
        recordBytes = CodeEstimator.recordBytes(words: words)
        records = .allocate(byteCount: capacity * recordBytes, alignment: 64)
        absent = .allocate(capacity: capacity / 64)
        absent.initialize(repeating: 0, count: capacity / 64)
    }

    deinit {
        absent.deallocate()
        UnsafeMutableRawPointer(codes.base).deallocate()
        records.deallocate()
    }

    @inline(__always)
    var ids: UnsafeMutablePointer<PointID> { idStorage.base }

    /// Writes slot `slot`'s vector (nil: absent, zeros) and, with a quantizer, its code.
    func store(_ vector: UnsafeBufferPointer<Float>?, at slot: Int, quantizer: BinaryQuantizer?) {
        let dimension = vectors.dimension
        if let vector {
            (vectors.base + slot * dimension).initialize(from: vector.baseAddress!, count: dimension)
        } else {
            (vectors.base + slot * dimension).initialize(repeating: 0, count: dimension)
            markAbsent(slot)
        }
        if let quantizer { encode(slot, quantizer) }
    }

    func markAbsent(_ slot: Int) { absent[slot >> 6] |= 1 << UInt64(slot & 63) }

    @inline(__always)
    func hasVector(_ slot: Int) -> Bool { absent[slot >> 6] >> UInt64(slot & 63) & 1 == 0 }

    /// The first `visible` slots' absent bits, one word per 64 slots; nil when none is set.
    func absentWords(visible: Int) -> [UInt64]? {
        let words = (visible + 63) / 64
        guard (0..<words).contains(where: { absent[$0] != 0 }) else { return nil }
        return Array(UnsafeBufferPointer(start: absent, count: words))
    }

    @inline(__always)
    func vector(_ slot: Int) -> UnsafePointer<Float> { UnsafePointer(vectors.base + slot * vectors.dimension) }

    /// Writes the row's record (code and estimator factors) and its code in the block layout.
    func encode(_ slot: Int, _ quantizer: BinaryQuantizer) {
        let record = records + slot * recordBytes
        CodeEstimator.writeRecord(vector(slot), quantizer: quantizer, into: record)
        codes.store(record.assumingMemoryBound(to: UInt64.self), at: slot)
    }

    @inline(__always)
    func record(_ slot: Int) -> UnsafeRawPointer { UnsafeRawPointer(records + slot * recordBytes) }
}

/// A chunk's ids, shared by its lanes.
final class RowIDs: @unchecked Sendable {
    // @unchecked Sendable: as RowChunk's rows, each id is written once before it is published.
    let base: UnsafeMutablePointer<PointID>

    init(capacity: Int) { base = .allocate(capacity: capacity) }

    deinit { base.deallocate() }
}

/// One row of a memtable: a point's dense vector (or its absence). Keeps its chunk alive, so a
/// reader's snapshot stays valid after the memtable moves on.
struct VectorRef: Sendable {
    let chunk: RowChunk
    let slot: Int32

    var row: Int { chunk.firstRow + Int(slot) }

    /// Whether the point carries a dense vector (else the row holds zeros).
    var isPresent: Bool { chunk.hasVector(Int(slot)) }

    /// The dense vector, or nil when the point carries none.
    var dense: [Float]? { isPresent ? array : nil }

    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(chunk) { try body(UnsafeBufferPointer(start: chunk.vector(Int(slot)), count: chunk.vectors.dimension)) }
    }

    var array: [Float] { withUnsafeBufferPointer { Array($0) } }

    /// The point's further dense vectors by name (those it carries).
    var named: [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (l, name) in chunk.laneNames.enumerated() { if let v = lane(l + 1) { out[name] = v } }
        return out
    }

    /// Whether the point carries the further dense vector `name`.
    func has(lane name: String) -> Bool {
        chunk.laneNames.firstIndex(of: name).map { chunk.lanes[$0].hasVector(Int(slot)) } ?? false
    }

    /// The row's vector of lane `lane` (1...), or nil when the point carries none.
    func lane(_ lane: Int) -> [Float]? {
        let chunk = chunk.lanes[lane - 1], slot = Int(slot)
        guard chunk.hasVector(slot) else { return nil }
        return Array(UnsafeBufferPointer(start: chunk.vector(slot), count: chunk.vectors.dimension))
    }

    /// Marks this row replaced or deleted by the write at `lsn`.
    func shadow(at lsn: UInt64) { chunk.shadows.shadow(Int(slot), at: lsn) }
}

/// A memtable's rows as a snapshot saw them: the first `count`, read without a lock.
struct RowsView: Sendable {
    let chunks: [RowChunk]
    let count: Int
    let quantizer: BinaryQuantizer?
    let order: RowOrder
    var laneQuantizers: [BinaryQuantizer?] = []

    static let empty = RowsView(chunks: [], count: 0, quantizer: nil, order: RowOrder())

    /// The rows of lane `lane` (0: these), read as the first dense vector's are.
    func lane(_ lane: Int) -> RowsView {
        lane == 0 ? self : RowsView(chunks: chunks.map { $0.lanes[lane - 1] }, count: count, quantizer: laneQuantizers[lane - 1], order: order)
    }

    /// Calls `body` with each chunk and how many of its rows the view holds.
    @inline(__always)
    func forEachChunk(_ body: (RowChunk, Int) throws -> Void) rethrows {
        for chunk in chunks where chunk.firstRow < count { try body(chunk, min(chunk.capacity, count - chunk.firstRow)) }
    }

    /// The chunk holding `row` and the row's slot in it.
    func locate(_ row: Int) -> (RowChunk, Int) {
        var low = 0, high = chunks.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if chunks[mid].firstRow <= row { low = mid } else { high = mid - 1 }
        }
        return (chunks[low], row - chunks[low].firstRow)
    }

    /// Whether `row` is the live version of its point at `lsn`.
    @inline(__always)
    func isAlive(_ row: Int, at lsn: UInt64) -> Bool {
        let (chunk, slot) = locate(row)
        return chunk.shadows.isAlive(slot, at: lsn)
    }

    /// Rows live at `lsn`.
    func liveCount(at lsn: UInt64) -> Int {
        var n = 0
        forEachChunk { chunk, visible in n += chunk.shadows.liveCount(at: lsn, visible: visible) }
        return n
    }
}
