import HSDBCore
import Index

/// The ordinals of one segment that are live in a snapshot and match a filter, as a bitset:
/// the graph search's node filter, and the exact scan's list.
struct OrdinalMask: NodeFilter {
    private(set) var words: [UInt64]
    private(set) var count = 0

    init(capacity: Int) { words = [UInt64](repeating: 0, count: (capacity + 63) / 64) }

    mutating func insert(_ ordinal: Int) {
        words[ordinal >> 6] |= 1 << UInt64(ordinal & 63)
        count += 1
    }

    @inline(__always)
    func accepts(_ node: UInt32) -> Bool { words[Int(node) >> 6] & (1 << UInt64(node & 63)) != 0 }

    func forEach(_ body: (Int) -> Void) {
        for (w, word) in words.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                body(w << 6 | bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
    }
}

extension Collection {
    /// Which of `handle`'s points are live at `lsn` and match `filter`. Reads every payload
    /// of the segment (block by block); payload field indexes will narrow this.
    func matching(_ handle: SegmentHandle, _ filter: Filter, lsn: UInt64) throws -> OrdinalMask {
        var mask = OrdinalMask(capacity: handle.count)
        let segment = handle.segment
        if filter.needsPayload {
            do {
                try segment.forEachPayload { o, payload in
                    if handle.isAlive(o, at: lsn) && filter.matches(id: segment.id(at: o), payload: payload) { mask.insert(o) }
                }
            } catch {
                throw HSDBError.wrap(error)
            }
        } else {
            for o in 0..<handle.count where handle.isAlive(o, at: lsn) && filter.matches(id: segment.id(at: o), payload: [:]) {
                mask.insert(o)
            }
        }
        return mask
    }

    /// Exact number of live points matching `filter`.
    public func count(filter: Filter) throws -> Int {
        let s = snapshot
        var n = 0
        s.forEachLiveMemtablePoint { id, p in if filter.matches(id: id, payload: p.payload) { n += 1 } }
        for h in s.segments { n += try matching(h, filter, lsn: s.lsn).count }
        return n
    }

    /// Deletes every point matching `filter` (as of now; points written meanwhile are not
    /// affected). Returns the result of the last delete, or nil if nothing matched.
    @discardableResult
    public func delete(filter: Filter) async throws -> WriteResult? {
        var ids: [PointID] = []
        var offset: PointID? = nil
        repeat {
            let page = try scroll(from: offset, limit: 10_000, projection: .idsOnly, filter: filter)
            ids += page.points.map(\.id)
            offset = page.nextOffset
        } while offset != nil
        var last: WriteResult?
        var start = 0
        while start < ids.count {
            let end = min(start + limits.maxBatchPoints, ids.count)
            last = try await delete(ids: Array(ids[start..<end]))
            start = end
        }
        return last
    }
}
