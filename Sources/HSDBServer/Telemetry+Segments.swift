import Foundation
import HSDB
import HSDBCore

/// A layer of a collection as Qdrant's `SegmentTelemetry` (details level 4 and above): the
/// active memtable is Qdrant's appendable plain segment, a frozen memtable a plain one waiting
/// for its optimizer, a segment file with a graph an indexed one. hsdb counts no searches per
/// segment and builds field indexes per segment on demand, so those lists are empty.
extension API {
    static func writeSegment(_ layer: LayerSummary, of c: CollectionTelemetrySource, to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("info"); writeSegmentInfo(layer, of: c, to: &w)
        w.key("config")
        w.beginObject()
        w.key("vector_data")
        w.beginObject()
        for v in c.vectors {
            w.key(v.name)
            w.beginObject()
            w.key("size"); w.int(dimension(v.params))
            w.key("distance"); w.value(v.params["distance"] ?? .string("Cosine"))
            w.key("storage_type"); w.string(layer.isMemtable ? "Memory" : "Mmap")
            w.key("index")
            w.beginObject()
            w.key("type"); w.string(layer.hasGraph ? "hnsw" : "plain")
            w.key("options"); w.value(layer.hasGraph ? c.config["hnsw_config"] ?? .object([:]) : .object([:]))
            w.endObject()
            w.endObject()
        }
        w.endObject()
        w.key("payload_storage_type"); w.beginObject(); w.key("type"); w.string("mmap"); w.endObject()
        w.endObject()
        w.key("vector_index_searches"); w.beginArray(); w.endArray()
        w.key("payload_field_indices"); w.beginArray(); w.endArray()
        w.endObject()
    }

    private static func writeSegmentInfo(_ layer: LayerSummary, of c: CollectionTelemetrySource, to w: inout JSONTextWriter) {
        let lanes = c.vectors.count
        let deleted = layer.rows - layer.livePoints
        let indexed = layer.hasGraph ? layer.livePoints : 0
        w.beginObject()
        w.key("uuid"); w.string(layer.uuid)
        w.key("segment_type"); w.string(layer.hasGraph ? "indexed" : "plain")
        w.key("num_vectors"); w.int(layer.livePoints * lanes)
        w.key("num_points"); w.int(layer.livePoints)
        w.key("num_indexed_vectors"); w.int(indexed * lanes)
        w.key("num_deleted_vectors"); w.int(deleted * lanes)
        w.key("vectors_size_bytes"); w.int(layer.rows * 4 * c.vectors.reduce(0) { $0 + dimension($1.params) })
        w.key("payloads_size_bytes"); w.int(0)  // not measured apart from the rest of the layer
        // A memtable lives in memory (its WAL bytes stand for its size); a segment is a
        // mapped file, paged in by the kernel as it is read.
        w.key("ram_usage_bytes"); w.int(layer.isMemtable ? layer.bytes : 0)
        w.key("disk_usage_bytes"); w.int(layer.isMemtable ? 0 : layer.bytes)
        w.key("is_appendable"); w.bool(layer.kind == .activeMemtable)
        w.key("index_schema"); w.beginObject(); w.endObject()
        w.key("vector_data")
        w.beginObject()
        for v in c.vectors {
            w.key(v.name)
            w.beginObject()
            w.key("num_vectors"); w.int(layer.livePoints)
            w.key("num_indexed_vectors"); w.int(indexed)
            w.key("num_deleted_vectors"); w.int(deleted)
            w.endObject()
        }
        w.endObject()
        w.endObject()
    }
}

extension LayerSummary {
    var hasGraph: Bool {
        if case .segment(_, let graph) = kind { return graph }
        return false
    }

    /// A segment's UUID is the first 128 bits of its content id; memtables have no id, so
    /// theirs is the nil UUID with their place in the collection's layers (active 0).
    var uuid: String {
        switch kind {
        case .segment(let contentID, _): return API.uuid(contentID)
        case .activeMemtable: return "00000000-0000-0000-0000-000000000000"
        case .frozenMemtable(let position): return "00000000-0000-0000-0000-" + String(format: "%012x", position)
        }
    }
}
