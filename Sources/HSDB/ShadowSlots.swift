import Atomics

/// For each ordinal of a layer (a segment's points, a memtable's rows): the LSN of the write
/// that replaced or deleted it, 0 while it is the live version; and a bit per ordinal set
/// once it has been shadowed at any LSN (a superset of the dead ordinals of every snapshot),
/// so a scan needs a live bitmap only where a bit is set.
///
/// Shadows are set under the collection's state lock, in the same critical section that
/// applies the replacing write; readers check them without a lock against their snapshot's
/// LSN, so a reader never sees a point vanish before the write that replaces it is visible to
/// it. Each slot is an atomic, so those lock-free reads are not data races.
final class ShadowSlots: @unchecked Sendable {
    // @unchecked Sendable: the pointers are immutable and every access goes through
    // UnsafeAtomic.
    let count: Int
    private let slots: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
    private let bits: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
    private let bitWords: Int

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: max(count, 1))
        for i in 0..<max(count, 1) { (slots + i).initialize(to: .init(0)) }
        bitWords = max((count + 63) / 64, 1)
        bits = .allocate(capacity: bitWords)
        for i in 0..<bitWords { (bits + i).initialize(to: .init(0)) }
    }

    deinit {
        slots.deallocate()
        bits.deallocate()
    }

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
        _ = UnsafeAtomic<UInt64>(at: bits + (ordinal >> 6)).loadThenBitwiseOr(with: 1 << UInt64(ordinal & 63), ordering: .releasing)
    }

    /// Ordinals shadowed at or before `lsn`, ascending.
    func dead(upTo lsn: UInt64) -> [Int] {
        (0..<count).filter { let s = shadowedAt($0); return s != 0 && s <= lsn }
    }

    /// Live ordinals among the first `visible` at `lsn`.
    func liveCount(at lsn: UInt64, visible: Int) -> Int {
        var n = visible
        forEachShadowed(visible: visible) { o in if !isAlive(o, at: lsn) { n -= 1 } }
        return n
    }

    /// Bit o set when ordinal o (of the first `visible`) is live at `lsn`, one UInt64 per 64
    /// ordinals; nil when none of them was ever shadowed (all are live). Costs one pass over
    /// visible / 64 words, plus one check per shadowed ordinal.
    func liveBitmap(at lsn: UInt64, visible: Int) -> [UInt64]? {
        var live: [UInt64]?
        forEachShadowed(visible: visible) { o in
            if live == nil { live = [UInt64](repeating: .max, count: max((visible + 63) / 64, 1)) }
            if !isAlive(o, at: lsn) { live![o >> 6] &= ~(1 << UInt64(o & 63)) }
        }
        return live
    }

    /// Calls `body` with each ordinal below `visible` ever shadowed, ascending.
    @inline(__always)
    private func forEachShadowed(visible: Int, _ body: (Int) -> Void) {
        for w in 0..<min(bitWords, (visible + 63) / 64) {
            var word = UnsafeAtomic<UInt64>(at: bits + w).load(ordering: .acquiring)
            while word != 0 {
                let o = w << 6 | word.trailingZeroBitCount
                if o < visible { body(o) }
                word &= word - 1
            }
        }
    }
}
