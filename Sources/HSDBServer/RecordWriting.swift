import HSDB
import HSDBCore

/// Records and scored points as the API returns them: `payload` and `vector` only when asked
/// for, ids hyphenated, every scored point with its `version`.
enum RecordWriting {
    static func id(_ id: PointID, to w: inout JSONTextWriter) {
        switch id {
        case .integer(let n): w.int(n)
        case .uuid: w.string(id.description)
        }
    }

    /// `orderValue`: the value an `order_by` scroll ordered the record by (written as an
    /// integer for an integer index).
    static func record(
        _ r: Record, payload: PayloadSelector, naming: VectorNaming, vectors: VectorNaming.Selection,
        orderValue: (Double, integer: Bool)? = nil, to w: inout JSONTextWriter
    ) {
        w.beginObject()
        w.key("id"); id(r.id, to: &w)
        if payload.wantsPayload, let p = r.payload { w.key("payload"); w.object(payload.apply(p)) }
        naming.write(dense: r.vector, sparse: r.sparse, named: r.named, vectors, to: &w)
        if let (value, integer) = orderValue {
            w.key("order_value")
            if integer, let n = Int64(exactly: value) { w.int(n) } else { w.double(value) }
        }
        w.endObject()
    }

    static func scored(
        _ s: ScoredPoint, payload: PayloadSelector, naming: VectorNaming, vectors: VectorNaming.Selection, to w: inout JSONTextWriter
    ) {
        w.beginObject()
        w.key("id"); id(s.id, to: &w)
        w.key("version"); w.int(s.version)
        w.key("score"); w.float(s.score)
        if payload.wantsPayload, let p = s.payload { w.key("payload"); w.object(payload.apply(p)) }
        naming.write(dense: s.vector, sparse: s.sparse, named: s.named, vectors, to: &w)
        if let value = s.orderValue {  // an `order_by` query's: whole values as integers
            w.key("order_value")
            if let n = Int64(exactly: value) { w.int(n) } else { w.double(value) }
        }
        w.endObject()
    }
}
