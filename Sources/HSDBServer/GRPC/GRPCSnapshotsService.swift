import Foundation
import GRPCCore
import HSDBCore
import QdrantAPI
import SwiftProtobuf

/// `qdrant.Snapshots`: snapshots of a collection and of the whole storage, answered by REST's
/// snapshot routes (downloading and recovering stay REST's, as in Qdrant).
struct GRPCSnapshotsService: Qdrant_Snapshots.SimpleServiceProtocol {
    let bridge: GRPCBridge

    func create(request r: Qdrant_CreateSnapshotRequest, context: ServerContext) async throws -> Qdrant_CreateSnapshotResponse {
        let (result, time) = try await bridge.call(.post, "/collections/\(GRPCBridge.segment(r.collectionName))/snapshots?wait=true")
        return .with { $0.snapshotDescription = Self.description(result); $0.time = time }
    }

    func list(request r: Qdrant_ListSnapshotsRequest, context: ServerContext) async throws -> Qdrant_ListSnapshotsResponse {
        let (result, time) = try await bridge.call(.get, "/collections/\(GRPCBridge.segment(r.collectionName))/snapshots")
        return Self.list(result, time)
    }

    func delete(request r: Qdrant_DeleteSnapshotRequest, context: ServerContext) async throws -> Qdrant_DeleteSnapshotResponse {
        let path = "/collections/\(GRPCBridge.segment(r.collectionName))/snapshots/\(GRPCBridge.segment(r.snapshotName))?wait=true"
        let (_, time) = try await bridge.call(.delete, path)
        return .with { $0.time = time }
    }

    func createFull(request: Qdrant_CreateFullSnapshotRequest, context: ServerContext) async throws -> Qdrant_CreateSnapshotResponse {
        let (result, time) = try await bridge.call(.post, "/snapshots?wait=true")
        return .with { $0.snapshotDescription = Self.description(result); $0.time = time }
    }

    func listFull(request: Qdrant_ListFullSnapshotsRequest, context: ServerContext) async throws -> Qdrant_ListSnapshotsResponse {
        let (result, time) = try await bridge.call(.get, "/snapshots")
        return Self.list(result, time)
    }

    func deleteFull(request r: Qdrant_DeleteFullSnapshotRequest, context: ServerContext) async throws -> Qdrant_DeleteSnapshotResponse {
        let (_, time) = try await bridge.call(.delete, "/snapshots/\(GRPCBridge.segment(r.snapshotName))?wait=true")
        return .with { $0.time = time }
    }

    static func list(_ result: JSONValue, _ time: Double) -> Qdrant_ListSnapshotsResponse {
        guard case .array(let a) = result else { return .with { $0.time = time } }
        return .with { $0.snapshotDescriptions = a.map(description); $0.time = time }
    }

    static func description(_ j: JSONValue) -> Qdrant_SnapshotDescription {
        var d = Qdrant_SnapshotDescription()
        if case .string(let name)? = GRPCJSON.field(j, "name") { d.name = name }
        if case .string(let t)? = GRPCJSON.field(j, "creation_time"), let date = creationTime(t) {
            d.creationTime = Google_Protobuf_Timestamp(date: date)
        }
        if case .int(let n)? = GRPCJSON.field(j, "size") { d.size = n }
        if case .string(let c)? = GRPCJSON.field(j, "checksum") { d.checksum = c }
        return d
    }

    /// REST writes the time without a zone (UTC, as Qdrant does).
    static func creationTime(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let zoned = text.hasSuffix("Z") ? text : text + "Z"
        if let d = f.date(from: zoned) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: zoned)
    }
}
