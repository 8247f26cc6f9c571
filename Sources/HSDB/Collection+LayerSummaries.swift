/// One layer of a collection as the server's telemetry shows it (Qdrant's segments): the
/// active memtable, a frozen memtable waiting for its flush, or a segment file.
public struct LayerSummary: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Appendable, unindexed: the active memtable.
        case activeMemtable
        /// Waiting for its flush; `position` 1 is the newest.
        case frozenMemtable(position: Int)
        case segment(contentID: String, hasGraph: Bool)
    }

    public let kind: Kind
    /// Rows stored, live or not (an overwritten or deleted point keeps its row until compaction).
    public let rows: Int
    public let livePoints: Int
    /// A segment's file size; a memtable's WAL bytes.
    public let bytes: Int
}

extension Collection {
    /// The collection's layers at one LSN: the active memtable, the frozen ones, then the
    /// segments, newest first.
    public func layerSummaries() -> [LayerSummary] {
        let (s, activeBytes) = state.withLock { ($0.snapshot(), $0.active.bytes) }
        var layers = [LayerSummary(kind: .activeMemtable, rows: s.activeRows.count, livePoints: s.activeRows.liveCount(at: s.lsn), bytes: activeBytes)]
        for (i, f) in s.frozen.enumerated() {
            layers.append(LayerSummary(kind: .frozenMemtable(position: i + 1), rows: f.rows.count, livePoints: f.rows.liveCount(at: s.lsn), bytes: f.bytes))
        }
        for h in s.segments {
            let kind = LayerSummary.Kind.segment(contentID: h.segment.contentID, hasGraph: h.segment.header.hasGraph)
            layers.append(LayerSummary(kind: kind, rows: h.segment.count, livePoints: h.liveCount(at: s.lsn), bytes: h.segment.bytes))
        }
        return layers
    }
}
