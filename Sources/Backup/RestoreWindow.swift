import IPLD
/// Which backups restore one collection to an LSN, and which LSNs can be restored at all.
///
/// A target LSN t is **restorable** when some backup S has flushedLSN <= t (its segments and
/// manifest hold the state at flushedLSN) and some backup W has WAL files holding every
/// record from S's flushedLSN + 1 through t. The restore takes the latest such W, then the
/// latest such S for it.
public struct RestoreWindow: Sendable, CustomStringConvertible {
    /// One backup's view of the collection, in sequence order.
    public struct Entry: Sendable {
        public let sequence: UInt64
        public let collection: BackupCollection
    }

    public let collection: String
    public let entries: [Entry]

    public init(collection: String, archives: [BackupArchive]) {
        self.collection = collection
        var found = archives.compactMap { a in
            a.root.collections.first { $0.name == collection }.map { Entry(sequence: a.sequence, collection: $0) }
        }
        // While some backup's WAL starts at LSN 1, the empty collection (no manifest, no
        // segments: the state at LSN 0) is a base to replay it on, as sequence 0.
        if let first = found.first, found.contains(where: { $0.collection.firstLSN <= 1 }) {
            let empty = BackupCollection(
                name: collection, metadata: first.collection.metadata, manifest: nil, flushedLSN: 0, segments: [],
                wal: [], firstLSN: 1, lastLSN: 0, firstTime: nil, lastTime: nil, times: [])
            found.insert(Entry(sequence: 0, collection: empty), at: 0)
        }
        entries = found
    }

    /// (segments and manifest from, WAL files from) for target `lsn`, or nil.
    public func plan(lsn: UInt64) -> (segments: Entry, wal: Entry)? {
        for w in entries.reversed() where w.collection.lastLSN >= lsn || (w.collection.wal.isEmpty && w.collection.flushedLSN == lsn) {
            let first = w.collection.firstLSN
            if let s = entries.last(where: { $0.collection.flushedLSN <= lsn && $0.collection.flushedLSN + 1 >= first }) {
                return (s, w)
            }
        }
        return nil
    }

    /// The restorable LSNs, as disjoint ranges in order.
    public var ranges: [ClosedRange<UInt64>] {
        var raw: [ClosedRange<UInt64>] = []
        for w in entries {
            let hi = w.collection.wal.isEmpty ? w.collection.flushedLSN : w.collection.lastLSN
            for s in entries where s.collection.flushedLSN + 1 >= w.collection.firstLSN && s.collection.flushedLSN <= hi {
                raw.append(s.collection.flushedLSN...hi)
            }
        }
        var merged: [ClosedRange<UInt64>] = []
        for r in raw.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, r.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged
    }

    /// The commit-time span the backups' WAL files cover (first to last clock record).
    public var timeRange: ClosedRange<UInt64>? {
        let firsts = entries.compactMap { $0.collection.firstTime }
        let lasts = entries.compactMap { $0.collection.lastTime }
        guard let lo = firsts.min(), let hi = lasts.max() else { return nil }
        return lo...hi
    }

    public var description: String {
        let lsns = ranges.map { "LSN \($0.lowerBound)...\($0.upperBound)" }.joined(separator: ", ")
        let times = timeRange.map { ", commit times \(BackupClock.format($0.lowerBound))...\(BackupClock.format($0.upperBound))" } ?? ""
        return lsns.isEmpty ? "(empty)" : lsns + times
    }
}
