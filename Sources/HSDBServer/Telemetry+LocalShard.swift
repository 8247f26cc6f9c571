import Foundation
import HSDB
import HSDBCore

/// A collection's local shard in `/telemetry` (Qdrant's `LocalShardTelemetry`), from details
/// level 3; its segments, the optimizer log and the unindexed vectors from level 4.
extension API {
    static func writeLocalShard(_ c: CollectionTelemetrySource, level: Int, to w: inout JSONTextWriter) {
        let s = c.statistics
        w.beginObject()
        w.key("variant_name"); w.string("local shard")
        // As `GET /collections/{c}`: yellow while a flush or merge runs.
        w.key("status"); w.string(c.collection.maintenanceRunning ? "yellow" : "green")
        w.key("total_optimized_points"); w.int(0)  // not counted by hsdb
        w.key("vectors_size_bytes"); w.int(s.points * 4 * c.vectors.reduce(0) { $0 + dimension($1.params) })
        w.key("payloads_size_bytes"); w.null()  // not measured apart from the rest of a segment
        w.key("num_points"); w.int(s.points)
        w.key("num_vectors"); w.int(c.vectorCount)
        w.key("num_vectors_by_name")
        w.beginObject()
        for v in c.vectors { w.key(v.name); w.int(s.points) }
        w.endObject()
        if level >= 4 {
            w.key("segments")
            w.beginArray()
            for layer in c.layers { writeSegment(layer, of: c, to: &w) }
            w.endArray()
        }
        w.key("optimizations"); writeOptimizations(c, level: level, to: &w)
        w.key("async_scorer"); w.bool(false)
        if level >= 4 {
            // Points in memtables are searched exactly, not through a graph.
            let unindexed = c.layers.filter(\.isMemtable).reduce(0) { $0 + $1.livePoints }
            w.key("indexed_only_excluded_vectors")
            w.beginObject()
            for v in c.vectors { w.key(v.name); w.int(unindexed) }
            w.endObject()
        }
        // Writes are applied before they are acknowledged: the queue is always empty, and
        // the last operation applied is the collection's WAL position.
        w.key("update_queue")
        w.beginObject()
        w.key("length"); w.int(0)
        w.key("op_num"); w.int(s.appliedLSN)
        w.endObject()
        w.endObject()
    }

    /// Flushes and merges as Qdrant's optimizers: their number since the start, and from
    /// level 4 the log of the running and last finished ones.
    private static func writeOptimizations(_ c: CollectionTelemetrySource, level: Int, to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("status"); w.string("ok")
        w.key("optimizations"); w.beginObject(); w.key("count"); w.int(c.statistics.flushes + c.statistics.compactions); w.endObject()
        if level >= 4 {
            let (running, finished) = c.collection.maintenanceTasks
            w.key("log")
            w.beginArray()
            for t in running + finished { writeTracker(t, to: &w) }
            w.endArray()
        }
        w.endObject()
    }

    /// A flush or merge as Qdrant's `TrackerTelemetry`.
    private static func writeTracker(_ t: MaintenanceTask, to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("name"); w.string(t.kind.rawValue)
        w.key("uuid"); w.string(t.id.uuidString.lowercased())
        w.key("segment_ids"); w.beginArray(); w.endArray()
        w.key("segment_uuids")
        w.beginArray()
        for input in t.inputs { if let id = input.contentID { w.string(uuid(id)) } }
        w.endArray()
        w.key("status")
        switch t.status {
        case .running: w.string("optimizing")
        case .done: w.string("done")
        case .failed(let reason): w.beginObject(); w.key("error"); w.string(reason); w.endObject()
        }
        w.key("start_at"); w.string(timestamp(t.startedAt))
        w.key("end_at")
        if let end = t.finishedAt { w.string(timestamp(end)) } else { w.null() }
        w.endObject()
    }

    static func dimension(_ params: Payload) -> Int {
        if case .int(let n)? = params["size"] { return Int(n) }
        return 0
    }
}

extension LayerSummary {
    var isMemtable: Bool {
        if case .segment = kind { return false }
        return true
    }
}
