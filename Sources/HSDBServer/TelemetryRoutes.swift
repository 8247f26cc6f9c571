import Foundation
import HSDB
import Hummingbird

/// `GET /telemetry` and `GET`/`DELETE /issues`, which qdrant-client and dashboards call:
/// answered with what hsdb knows, in Qdrant's shapes (DESIGN.md, "HTTP API").
extension API {
    func registerTelemetry(on router: Router<Context>) {
        let startup = SnapshotStore.timestamp(Date(), separator: "T") + "Z"
        // This node, its build and its collections; `details_level` and `anonymize` are
        // accepted, and every level gets this much.
        on(router, .get, "/telemetry") { _, _, start in
            let collections = try db.listCollections()
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("id"); w.string(replication.state.nodeID.uuidString.lowercased())
                w.key("app")
                w.beginObject()
                w.key("name"); w.string("hsdb")
                w.key("version"); w.string(HSDBVersion.string)
                w.key("startup"); w.string(startup)
                w.endObject()
                w.key("collections")
                w.beginObject()
                w.key("number_of_collections"); w.int(collections.count)
                w.endObject()
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
}
