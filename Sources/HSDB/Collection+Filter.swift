import HSDBCore
import Index

/// The ordinals of one segment that are live in a snapshot and match a filter, as a bitset:
/// the graph search's node filter, and the exact scan's list.
struct OrdinalMask: NodeFilter {
    private(set) var words: [UInt64]
    private(set) var count = 0

    init(capacity: Int) { words = [UInt64](repeating: 0, count: (capacity + 63) / 64) }

    /// The ordinals set in `words`.
    init(words: [UInt64]) {
        self.words = words
        count = words.reduce(0) { $0 + $1.nonzeroBitCount }
    }

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
    /// Which of `handle`'s points are live at `lsn` and match `filter`. When `must` holds
    /// conditions on indexed fields, their indexes give the candidates: if the filter is only
    /// such conditions and the indexes answer them exactly, the candidates are the answer;
    /// otherwise only the candidates' payloads are read. Without an index every payload of
    /// the segment is read (block by block).
    func matching(_ handle: SegmentHandle, _ filter: Filter, lsn: UInt64) throws -> OrdinalMask {
        var mask = OrdinalMask(capacity: handle.count)
        let segment = handle.segment
        if filter.needsPayload, let (candidates, exact) = try indexedCandidates(handle, filter) {
            indexedFilters.add(1, ordering: .relaxed)
            var words = candidates
            if let live = handle.liveBitmap(at: lsn) { for w in words.indices { words[w] &= live[w] } }
            if exact { return OrdinalMask(words: words) }
            var ordinals: [Int] = []
            OrdinalMask(words: words).forEach { ordinals.append($0) }
            do {
                try segment.forEachPayload(of: ordinals) { o, payload in
                    if filter.matches(id: segment.id(at: o), payload: payload, has: handle.vectors(of: o)) { mask.insert(o) }
                }
            } catch {
                throw HSDBError.wrap(error)
            }
        } else if filter.needsPayload {
            payloadScans.add(1, ordering: .relaxed)
            do {
                try segment.forEachPayload { o, payload in
                    if handle.isAlive(o, at: lsn) && filter.matches(id: segment.id(at: o), payload: payload, has: handle.vectors(of: o)) {
                        mask.insert(o)
                    }
                }
            } catch {
                throw HSDBError.wrap(error)
            }
        } else {
            for o in 0..<handle.count where handle.isAlive(o, at: lsn) && filter.matches(id: segment.id(at: o), payload: [:], has: handle.vectors(of: o)) {
                mask.insert(o)
            }
        }
        return mask
    }

    /// The intersection of what the declared indexes say about `filter.must`'s conditions (a
    /// bitmap over the segment's ordinals), and whether it is exactly the filter's answer (every
    /// condition of the filter a `must` that an index answers exactly); nil when no index applies.
    private func indexedCandidates(_ handle: SegmentHandle, _ filter: Filter) throws -> ([UInt64], exact: Bool)? {
        let declared = state.withLock { $0.manifest.payloadIndexes }
        guard !declared.isEmpty else { return nil }
        var result: [UInt64]?
        var exact = filter.should.isEmpty && filter.mustNot.isEmpty && filter.minShould == nil
        for c in filter.must {
            guard let key = c.fieldKey, let type = declared[key],
                let found = try handle.fieldIndex(key, type).bitmap(c, type: type)
            else {
                exact = false
                continue
            }
            exact = exact && found.exact
            result = result.map { zip($0, found.words).map { $0 & $1 } } ?? found.words
        }
        return result.map { ($0, exact) }
    }

    /// Declares an index of the payload field `key` (dotted path), persisted in the manifest.
    /// Filters whose `must` conditions test indexed fields read only the candidates' payloads.
    /// Each segment builds its part on first use.
    public func createPayloadIndex(_ key: String, type: PayloadIndexType) async throws {
        guard !key.isEmpty, key.utf8.count <= 1024 else { throw HSDBError.invalidArgument("payload index key must be 1-1024 bytes") }
        try await changePayloadIndexes { $0[key] = type }
    }

    public func deletePayloadIndex(_ key: String) async throws {
        try await changePayloadIndexes { $0[key] = nil }
    }

    /// The declared payload field indexes.
    public var payloadIndexes: [String: PayloadIndexType] { state.withLock { $0.manifest.payloadIndexes } }

    private func changePayloadIndexes(_ change: @Sendable (inout [String: PayloadIndexType]) -> Void) async throws {
        try await updateSegments { change(&$0.manifest.payloadIndexes) }
    }

    /// Exact number of live points matching `filter`.
    public func count(filter: Filter) throws -> Int {
        try count(resolved(filter), in: snapshot)
    }

    /// The live points of `s` matching the resolved `filter`.
    func count(_ filter: Filter, in s: Snapshot) throws -> Int {
        var n = 0
        s.forEachLiveMemtablePoint { id, p in if filter.matches(id: id, payload: p.payload, has: p.has) { n += 1 } }
        for h in s.segments { n += try matching(h, filter, lsn: s.lsn).count }
        return n
    }

    /// Deletes every point matching `filter` (as of now; points written meanwhile are not
    /// affected). Returns the result of the last delete, or nil if nothing matched.
    @discardableResult
    public func delete(filter: Filter) async throws -> WriteResult? {
        try await inBatches(of: try ids(matching: filter)) { try await delete(ids: $0) }
    }

    /// The ids of every live point matching `filter`, ascending.
    func ids(matching filter: Filter) throws -> [PointID] {
        var ids: [PointID] = []
        var offset: PointID? = nil
        repeat {
            let page = try scroll(from: offset, limit: 10_000, projection: .idsOnly, filter: filter)
            ids += page.points.map(\.id)
            offset = page.nextOffset
        } while offset != nil
        return ids
    }

    /// Runs `write` on slices of at most `Limits.maxBatchPoints` ids; returns the last result.
    func inBatches(of ids: [PointID], _ write: ([PointID]) async throws -> WriteResult?) async throws -> WriteResult? {
        var last: WriteResult?
        var start = 0
        while start < ids.count {
            let end = min(start + limits.maxBatchPoints, ids.count)
            last = try await write(Array(ids[start..<end])) ?? last
            start = end
        }
        return last
    }
}
