import Foundation
import HSDB
import HSDBCore
import Hummingbird

/// `GET /telemetry` and `GET`/`DELETE /issues`, which qdrant-client and dashboards call:
/// answered with what hsdb knows, in Qdrant's shapes (DESIGN.md, "HTTP API").
extension API {
    func registerTelemetry(on router: Router<Context>) {
        let startup = SnapshotStore.timestamp(Date(), separator: "T") + "Z"
        // Qdrant's sections at each `details_level` (0 unless given): 0 the node, its
        // collections' number and its REST responses; 1 adds memory, hardware, the search pool
        // and each collection in brief; 2 each collection's config; 3 its shard; 4 its segments.
        // `anonymize` is accepted: hsdb reports no user data but collection names.
        on(router, .get, "/telemetry") { request, _, start in
            let query = request.uri.queryParameters
            let level = try Self.detailsLevel(query.get("details_level"))
            let perCollection = query.get("per_collection") == "true"
            let names = try db.listCollections().map(\.name)
            let collections = level >= 1 ? names.compactMap { try? telemetrySource(for: $0, level: level) } : []
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("id"); w.string(replication.state.nodeID.uuidString.lowercased())
                w.key("app")
                w.beginObject()
                w.key("name"); w.string("hsdb")
                w.key("version"); w.string(HSDBVersion.string)
                w.key("startup"); w.string(startup)
                if level >= 1 { Self.writeFeatures(to: &w) }
                w.endObject()
                w.key("collections"); Self.writeCollections(count: names.count, collections, level: level, peer: peerID, to: &w)
                w.key("cluster"); w.beginObject(); w.key("enabled"); w.bool(false); w.endObject()
                w.key("requests"); Self.writeRequests(metrics.routes, grpc: metrics.grpc, perCollection: perCollection, to: &w)
                if level >= 1 { Self.writeNodeResources(to: &w) }
                w.key("quota"); Self.writeQuota(to: &w)
                w.endObject()
            }
        }
        // Qdrant's performance hints (an unindexed field in a filter, ...): hsdb keeps none,
        // so the list is empty and clearing it succeeds.
        on(router, .get, "/issues") { _, _, start in
            Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("issues"); w.beginArray(); w.endArray()
                w.endObject()
            }
        }
        on(router, .delete, "/issues") { _, _, start in
            Envelope.ok(since: start) { $0.bool(true) }
        }
    }

    /// `details_level`: a whole number, 0 or more (absent: 0).
    static func detailsLevel(_ raw: String?) throws -> Int {
        guard let raw else { return 0 }
        guard let level = Int(raw), level >= 0 else {
            throw APIError(status: .badRequest, message: "Query deserialize error: invalid digit found in string")
        }
        return level
    }

    /// The node's peer id as Qdrant numbers peers (a 64-bit integer): the first 8 bytes of
    /// hsdb's node UUID.
    var peerID: UInt64 {
        let u = replication.state.nodeID.uuid
        return [u.0, u.1, u.2, u.3, u.4, u.5, u.6, u.7].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// `memory` (from the kernel's figures, `ProcessMemory`), `hardware` (hsdb does not
    /// meter I/O per collection: none) and `search_pool` (searches run on the cooperative
    /// pool, one thread per core; hsdb has no I/O-bound mode).
    static func writeNodeResources(to w: inout JSONTextWriter) {
        let m = ProcessMemory.current()
        w.key("memory")
        w.beginObject()
        w.key("active_bytes"); w.int(m.dataBytes)
        w.key("allocated_bytes"); w.int(m.dataBytes)
        w.key("metadata_bytes"); w.int(0)
        w.key("resident_bytes"); w.int(m.residentBytes)
        w.key("retained_bytes"); w.int(m.virtualBytes)
        w.endObject()
        w.key("hardware"); w.beginObject(); w.key("collection_data"); w.beginObject(); w.endObject(); w.endObject()
        w.key("search_pool")
        w.beginObject()
        w.key("mode"); w.string("high_cpu")
        w.key("high_cpu_threads"); w.int(ProcessInfo.processInfo.activeProcessorCount)
        w.key("high_io_threads"); w.int(0)
        w.endObject()
    }

    /// Qdrant's build features (`app.features`): hsdb has none of them, so every one is off
    /// (tests that need `staging`, Qdrant's experimental features, skip themselves).
    static func writeFeatures(to w: inout JSONTextWriter) {
        w.key("features")
        w.beginObject()
        for feature in ["debug", "service_debug_feature", "recovery_mode", "gpu", "rocksdb", "staging"] {
            w.key(feature); w.bool(false)
        }
        w.endObject()
    }

    /// hsdb enforces no memory or disk quota: disabled, and neither resource can trip (null).
    static func writeQuota(to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("config"); w.beginObject(); w.key("enabled"); w.bool(false); w.endObject()
        w.key("exceeded")
        w.beginObject()
        w.key("resident_memory"); w.null()
        w.key("disk_usage"); w.null()
        w.endObject()
        w.endObject()
    }
}
