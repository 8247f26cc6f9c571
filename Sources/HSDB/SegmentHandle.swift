import Atomics
import HSDBCore
import Index
import Logging
import Segments
import Synchronization

/// A live segment of a collection: the mapped file, plus for each of its points the LSN of the
/// write that overwrote or deleted it (0 while it is the live version).
///
/// Shadow LSNs are set once, under the collection's state lock, in the same critical section
/// that applies the shadowing write to the memtable; readers check them without a lock
/// against their snapshot's LSN, so a reader never sees a point vanish before the write that
/// replaces it is visible to it. Each slot is an atomic, so those lock-free reads are not
/// data races.
///
/// Reference counting is the snapshot mechanism: readers hold the handle while they search;
/// when compaction replaces a segment it marks the handle obsolete, and the file is deleted
/// when the last reference goes.
final class SegmentHandle: @unchecked Sendable {
    // @unchecked Sendable: `segment`, `slots` and `fs` are immutable references; the shadow
    // slots are accessed only through UnsafeAtomic; `obsolete` is a ManagedAtomic.
    let segment: Segment
    private let slots: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
    /// Bit o is set once ordinal o has been shadowed at any LSN (a superset of the dead
    /// ordinals of every snapshot), so a scan needs a live bitmap only where a bit is set.
    private let shadowedBits: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
    private let shadowedWords: Int
    /// The codes in the scan kernel's block layout, copied on the first code scan.
    private let codeBlocks = Mutex<CodeBlocks?>(nil)
    private let obsolete = ManagedAtomic<Bool>(false)
    /// Payload field indexes built for this segment so far, by key and type.
    private let fieldIndexes = Mutex<[String: FieldIndex]>([:])
    private let fs: any FileSystem
    private let logger: Logger

    init(segment: Segment, fileSystem: any FileSystem, logger: Logger) {
        self.segment = segment
        self.fs = fileSystem
        self.logger = logger
        slots = .allocate(capacity: max(segment.count, 1))
        for i in 0..<max(segment.count, 1) { (slots + i).initialize(to: .init(0)) }
        shadowedWords = max((segment.count + 63) / 64, 1)
        shadowedBits = .allocate(capacity: shadowedWords)
        for i in 0..<shadowedWords { (shadowedBits + i).initialize(to: .init(0)) }
    }

    deinit {
        slots.deallocate()
        shadowedBits.deallocate()
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

    /// The LSN that shadowed `ordinal`, or 0.
    @inline(__always)
    func shadowedAt(_ ordinal: Int) -> UInt64 { UnsafeAtomic<UInt64>(at: slots + ordinal).load(ordering: .relaxed) }

    /// Whether `ordinal` is the live version of its point as of `lsn`.
    @inline(__always)
    func isAlive(_ ordinal: Int, at lsn: UInt64) -> Bool {
        let s = shadowedAt(ordinal)
        return s == 0 || s > lsn
    }

    /// Records that the write at `lsn` replaced or deleted `ordinal` (keeps the earliest).
    /// Call under the collection's state lock.
    func shadow(_ ordinal: Int, at lsn: UInt64) {
        let slot = UnsafeAtomic<UInt64>(at: slots + ordinal)
        let current = slot.load(ordering: .relaxed)
        if current == 0 || lsn < current { slot.store(lsn, ordering: .relaxed) }
        // After the slot: a reader that sees the bit finds the LSN (or checks a snapshot
        // published after both, under the state lock).
        _ = UnsafeAtomic<UInt64>(at: shadowedBits + (ordinal >> 6)).loadThenBitwiseOr(with: 1 << UInt64(ordinal & 63), ordering: .releasing)
    }

    /// Shadows the point with `id`, if this segment has it.
    func shadow(id: PointID, at lsn: UInt64) {
        if let o = segment.ordinal(of: id) { shadow(o, at: lsn) }
    }

    /// Ordinals shadowed at or before `lsn`, ascending (what the manifest persists).
    func dead(upTo lsn: UInt64) -> [Int] {
        (0..<count).filter { let s = shadowedAt($0); return s != 0 && s <= lsn }
    }

    func liveCount(at lsn: UInt64) -> Int {
        var n = 0
        for o in 0..<count where isAlive(o, at: lsn) { n += 1 }
        return n
    }

    /// Bit o set when ordinal o is live at `lsn`, one UInt64 per 64 ordinals; nil when no
    /// ordinal was ever shadowed (all are live). Costs one pass over count / 64 words, plus
    /// one check per shadowed ordinal.
    func liveBitmap(at lsn: UInt64) -> [UInt64]? {
        var live: [UInt64]?
        for w in 0..<shadowedWords {
            var bits = UnsafeAtomic<UInt64>(at: shadowedBits + w).load(ordering: .acquiring)
            guard bits != 0 else { continue }
            if live == nil { live = [UInt64](repeating: .max, count: shadowedWords) }
            while bits != 0 {
                let o = w << 6 | bits.trailingZeroBitCount
                if !isAlive(o, at: lsn) { live![w] &= ~(1 << UInt64(o & 63)) }
                bits &= bits - 1
            }
        }
        return live
    }

    /// The segment's codes in the scan kernel's layout (a heap copy, made on first use).
    func blocks(_ codes: BinaryCodes) -> CodeBlocks {
        codeBlocks.withLock { cached in
            if let cached { return cached }
            let made = CodeBlocks(codes, count: count)
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
