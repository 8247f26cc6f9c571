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

    static func record(
        _ r: Record, payload: PayloadSelector, naming: VectorNaming, vectors: VectorNaming.Selection, to w: inout JSONTextWriter
    ) {
        w.beginObject()
        w.key("id"); id(r.id, to: &w)
        if payload.wantsPayload, let p = r.payload { w.key("payload"); w.object(payload.apply(p)) }
        naming.write(dense: r.vector, sparse: r.sparse, vectors, to: &w)
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
        naming.write(dense: s.vector, sparse: s.sparse, vectors, to: &w)
        w.endObject()
    }
}
