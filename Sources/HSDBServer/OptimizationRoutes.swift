import Backup
import Foundation
import HSDB
import HSDBCore
import Hummingbird

/// `GET /collections/{c}/optimizations`, Qdrant's optimizer progress, from the collection's
/// flushes (optimizer `flush`: a frozen memtable written as an indexed segment) and merges
/// (`merge`). hsdb keeps no queue (the compaction policy picks the next merge when one ends),
/// so `queued` is always empty; `completed` holds the last 32 finished tasks.
extension API {
    func registerOptimizations(on router: Router<Context>) {
        on(router, .get, "/collections/:collection/optimizations") { request, context, start in
            let c = try collection(context)
            let requested = request.uri.queryParameters.get("with").map { String($0) } ?? ""
            // Spaces around the names are allowed (a `+` in a query string is a space).
            let with = Set(requested.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " +")) })
            for w in with where !["queued", "completed", "idle_segments"].contains(w) {
                throw APIError.wrongInput("unknown `with` value `\(w)`: expected queued, completed or idle_segments")
            }
            let limit = try request.uri.queryParameters.get("completed_limit").map { raw -> Int in
                guard let n = Int(String(raw)), n >= 0 else { throw APIError.wrongInput("completed_limit must be a non-negative integer") }
                return n
            }
            let (running, finished) = c.maintenanceTasks
            let busy = Set(running.flatMap { $0.inputs.compactMap(\.contentID) })
            let idle = c.segmentLiveCounts().filter { !busy.contains($0.contentID) }
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("summary"); w.beginObject()
                w.key("queued_optimizations"); w.int(0)
                w.key("queued_segments"); w.int(0)
                w.key("queued_points"); w.int(0)
                w.key("idle_segments"); w.int(idle.count)
                w.endObject()
                w.key("running"); w.beginArray()
                for t in running { Self.write(t, to: &w) }
                w.endArray()
                if with.contains("queued") { w.key("queued"); w.beginArray(); w.endArray() }
                if with.contains("completed") {
                    w.key("completed"); w.beginArray()
                    for t in finished.prefix(limit ?? MaintenanceLogLimit.completed) { Self.write(t, to: &w) }
                    w.endArray()
                }
                if with.contains("idle_segments") {
                    w.key("idle_segments"); w.beginArray()
                    for s in idle { Self.writeSegment(uuid: Self.uuid(s.contentID), points: s.points, to: &w) }
                    w.endArray()
                }
                w.endObject()
            }
        }
    }

    private static func write(_ t: MaintenanceTask, to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("uuid"); w.string(t.id.uuidString.lowercased())
        w.key("optimizer"); w.string(t.kind.rawValue)
        w.key("status")
        switch t.status {
        case .running: w.string("optimizing")
        case .done: w.string("done")
        case .failed(let why): w.beginObject(); w.key("error"); w.string(why); w.endObject()
        }
        w.key("segments"); w.beginArray()
        // A flush's input is its memtable, which has no segment id: it is named by the task's.
        for input in t.inputs { writeSegment(uuid: input.contentID.map(uuid) ?? t.id.uuidString.lowercased(), points: input.points, to: &w) }
        w.endArray()
        w.key("progress"); w.beginObject()
        w.key("name"); w.string(t.kind.rawValue)
        w.key("started_at"); w.string(timestamp(t.startedAt))
        if let end = t.finishedAt {
            w.key("finished_at"); w.string(timestamp(end))
            w.key("duration_sec"); w.double(end.timeIntervalSince(t.startedAt))
        }
        w.endObject()
        w.endObject()
    }

    private static func writeSegment(uuid: String, points: Int, to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("uuid"); w.string(uuid)
        w.key("points_count"); w.int(points)
        w.endObject()
    }

    /// A segment's UUID: the first 128 bits of its SHA-256 content id.
    static func uuid(_ contentID: String) -> String {
        let h = Array(contentID.prefix(32))
        guard h.count == 32 else { return contentID }
        return [h[0..<8], h[8..<12], h[12..<16], h[16..<20], h[20..<32]].map { String($0) }.joined(separator: "-")
    }

    /// RFC 3339 with microseconds (what Qdrant writes and its clients parse).
    static func timestamp(_ date: Date) -> String {
        let ns = UInt64(max(0, date.timeIntervalSince1970 * 1e9))
        return String(BackupClock.format(ns).dropLast(4)) + "Z"
    }
}

enum MaintenanceLogLimit {
    /// `completed_limit` when not given.
    static let completed = 16
}
