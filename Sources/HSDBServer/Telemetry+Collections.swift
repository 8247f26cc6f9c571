import Foundation
import HSDB
import HSDBCore

/// `/telemetry`'s `collections` at each details level, in Qdrant's shapes: level 0 the number
/// only; 1 each collection in brief (`CollectionsAggregatedTelemetry`); 2 its id and config;
/// 3 its one shard (hsdb has one local shard per collection, no transfers, no resharding).
extension API {
    static func writeCollections(
        count: Int, _ collections: [CollectionTelemetrySource], level: Int, peer: UInt64, to w: inout JSONTextWriter
    ) {
        w.beginObject()
        w.key("number_of_collections"); w.int(count)
        if level >= 1 {
            w.key("collections")
            w.beginArray()
            for c in collections {
                if level == 1 { writeBrief(c, to: &w) } else { writeFull(c, level: level, peer: peer, to: &w) }
            }
            w.endArray()
            // Qdrant lists snapshot activity from level 2; hsdb counts none, so ids only.
            w.key("snapshots")
            w.beginArray()
            for c in collections where level >= 2 { w.beginObject(); w.key("id"); w.string(c.name); w.endObject() }
            w.endArray()
        }
        w.endObject()
    }

    private static func writeBrief(_ c: CollectionTelemetrySource, to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("vectors"); w.int(c.vectorCount)
        w.key("optimizers_status"); w.string("ok")
        w.key("params"); w.object(c.params)
        w.endObject()
    }

    private static func writeFull(_ c: CollectionTelemetrySource, level: Int, peer: UInt64, to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("id"); w.string(c.name)
        w.key("init_time_ms"); w.int(0)  // hsdb does not time a collection's opening
        w.key("config"); w.object(c.config)
        if level >= 3 {
            w.key("shards")
            w.beginArray()
            writeShard(c, level: level, peer: peer, to: &w)
            w.endArray()
            w.key("transfers"); w.beginArray(); w.endArray()
            w.key("resharding"); w.beginArray(); w.endArray()
        }
        w.endObject()
    }

    /// Shard 0, local and active on this peer: no shard key, no remote replicas.
    private static func writeShard(_ c: CollectionTelemetrySource, level: Int, peer: UInt64, to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("id"); w.int(0)
        w.key("key"); w.null()
        w.key("local"); writeLocalShard(c, level: level, to: &w)
        w.key("remote"); w.beginArray(); w.endArray()
        w.key("replicate_states"); w.beginObject(); w.key(String(peer)); w.string("Active"); w.endObject()
        w.key("partial_snapshot")
        w.beginObject()
        w.key("ongoing_create_snapshot_requests"); w.int(0)
        w.key("is_recovering"); w.bool(false)
        w.key("recovery_timestamp"); w.int(0)
        w.endObject()
        w.endObject()
    }
}
