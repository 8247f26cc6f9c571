import Foundation
import HSDBCore

/// `/telemetry`'s `requests`: REST responses by endpoint and status (Qdrant's
/// `OperationDurationStatistics`), per collection as well when asked; gRPC calls by method
/// path and gRPC status code.
extension API {
    static func writeRequests(_ routes: RouteStatistics, grpc: RouteStatistics, perCollection: Bool, to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("rest")
        w.beginObject()
        w.key("responses"); writeByEndpoint(routes.byEndpoint(), to: &w)
        if perCollection {
            w.key("per_collection_responses")
            w.beginObject()
            for (collection, byEndpoint) in routes.byCollection() {
                w.key(collection); writeByEndpoint(byEndpoint, to: &w)
            }
            w.endObject()
        }
        w.endObject()
        w.key("grpc")
        w.beginObject()
        w.key("responses"); writeByEndpoint(grpc.byEndpoint(), to: &w)
        if perCollection { w.key("per_collection_responses"); w.beginObject(); w.endObject() }
        w.endObject()
        w.endObject()
    }

    private static func writeByEndpoint(_ byEndpoint: [String: [Int: ResponseStatistics]], to w: inout JSONTextWriter) {
        w.beginObject()
        for (endpoint, byStatus) in byEndpoint {
            w.key(endpoint)
            w.beginObject()
            for (status, stats) in byStatus {
                w.key(String(status)); writeStatistics(stats, to: &w)
            }
            w.endObject()
        }
        w.endObject()
    }

    static func writeStatistics(_ s: ResponseStatistics, to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("count"); w.int(s.count)
        w.key("avg_duration_micros"); w.double(s.averageMicros)
        w.key("min_duration_micros"); w.double(s.minMicros)
        w.key("max_duration_micros"); w.double(s.maxMicros)
        w.key("total_duration_micros"); w.int(s.totalMicros)
        w.key("last_responded"); w.string(timestamp(Date(timeIntervalSince1970: s.lastResponded)))
        w.endObject()
    }
}
