import Backup
import Foundation
import HSDB
import HSDBCore
import Hummingbird

/// Snapshots of one collection (`/collections/{c}/snapshots`, and the same under
/// `/collections/{c}/shards/0/snapshots`: a collection is one shard here) and of the whole
/// storage (`/snapshots`).
extension API {
    func registerSnapshots(on router: Router<Context>) {
        for prefix in ["/collections/:collection/snapshots", "/collections/:collection/shards/:shard/snapshots"] {
            on(router, .post, RouterPath(prefix)) { request, context, start in
                try await createSnapshot(of: try snapshotScope(context), request, start)
            }
            on(router, .get, RouterPath(prefix)) { _, context, start in try listSnapshots(of: try snapshotScope(context), start) }
            on(router, .get, RouterPath(prefix + "/:snapshot")) { _, context, _ in
                try await downloadSnapshot(of: try snapshotScope(context), context)
            }
            on(router, .delete, RouterPath(prefix + "/:snapshot")) { request, context, start in
                try deleteSnapshot(of: try snapshotScope(context), context, request, start)
            }
            on(router, .put, RouterPath(prefix + "/recover")) { request, context, start in
                // A shard is recovered into its existing collection; a collection route may create it.
                if context.parameters.get("shard") != nil { _ = try snapshotScope(context) }
                return try await recoverSnapshot(try collectionName(context), try await body(request), start)
            }
            on(router, .post, RouterPath(prefix + "/upload")) { request, _, _ in
                try SnapshotLocation.checkChecksum(request.uri.queryParameters["checksum"].map(String.init), in: "query params")
                throw APIError.unsupported("uploading snapshots (copy the file into the snapshots directory and recover it with a file:// location)")
            }
        }
        on(router, .post, "/collections/:collection/shards/:shard/snapshot/partial/recover") { request, _, _ in
            try SnapshotLocation.checkChecksum(request.uri.queryParameters["checksum"].map(String.init), in: "query params")
            throw APIError.unsupported("partial snapshots")
        }
        on(router, .post, "/snapshots") { request, _, start in try await createSnapshot(of: nil, request, start) }
        on(router, .get, "/snapshots") { _, _, start in try listSnapshots(of: nil, start) }
        on(router, .get, "/snapshots/:snapshot") { _, context, _ in try await downloadSnapshot(of: nil, context) }
        on(router, .delete, "/snapshots/:snapshot") { request, context, start in try deleteSnapshot(of: nil, context, request, start) }
    }

    /// The collection a snapshot route names (nil: the full snapshots), checked to exist.
    private func snapshotScope(_ context: Context) throws -> Collection {
        _ = try shard(context)
        return try collection(context)
    }

    /// Shard 0, the one shard of a collection here; another: 404.
    private func shard(_ context: Context) throws -> Int {
        guard let raw = context.parameters.get("shard") else { return 0 }
        guard raw == "0" else { throw APIError.notFound("Shard \(raw.prefix(20)) is not found") }
        return 0
    }

    private func createSnapshot(of c: Collection?, _ request: Request, _ start: ContinuousClock.Instant) async throws -> Response {
        let (store, logger, db) = (snapshots, logger, db)
        let make: @Sendable () async throws -> SnapshotStore.Description = {
            if let c { return try await store.create(c) }
            return try await store.createFull(try db.listCollections().map { try db.collection($0.name) })
        }
        guard API.waits(request, default: true) else {
            Task.detached {
                do { _ = try await make() } catch { logger.error("snapshot of '\(c?.name ?? "the storage")' failed: \(error)") }
            }
            return Envelope.accepted(since: start)
        }
        let d = try await make()
        return Envelope.ok(since: start) { w in writeDescription(d, to: &w) }
    }

    private func listSnapshots(of c: Collection?, _ start: ContinuousClock.Instant) throws -> Response {
        let all = try snapshots.list(c?.name)
        return Envelope.ok(since: start) { w in
            w.beginArray()
            for d in all { writeDescription(d, to: &w) }
            w.endArray()
        }
    }

    private func downloadSnapshot(of c: Collection?, _ context: Context) async throws -> Response {
        let snapshot = try snapshotName(context, of: c)
        guard try snapshots.describe(c?.name, snapshot) != nil else { throw missing(snapshot, of: c) }
        let body = try await FileIO().loadFile(path: snapshots.path(c?.name, snapshot), context: context)
        return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: body)
    }

    private func deleteSnapshot(of c: Collection?, _ context: Context, _ request: Request, _ start: ContinuousClock.Instant) throws -> Response {
        let snapshot = try snapshotName(context, of: c)
        guard try snapshots.delete(c?.name, snapshot) else { throw missing(snapshot, of: c) }
        // Deleting a file is quick, so it is done either way; `wait=false` answers as Qdrant does.
        guard API.waits(request, default: true) else { return Envelope.accepted(since: start) }
        return Envelope.ok(since: start) { $0.bool(true) }
    }

    /// `{"location", "checksum"}`: a file in the snapshots directory or a URL (see
    /// `SnapshotLocation`), checked against the checksum, then recovered as collection `name`.
    private func recoverSnapshot(_ name: String, _ fields: JSONFields, _ start: ContinuousClock.Instant) async throws -> Response {
        guard let location = try fields.string("location") else { throw APIError.format("missing field `location`") }
        let checksum = try fields.string("checksum")
        try SnapshotLocation.checkChecksum(checksum, in: "JSON body")
        let source = try await SnapshotLocation.resolve(location, in: snapshots)
        defer { if source.downloaded { try? FileManager.default.removeItem(atPath: source.path) } }
        if let expected = checksum {
            let actual = try SnapshotStore.sha256(ofFile: source.path)
            guard actual == expected.lowercased() else {
                throw APIError.wrongInput("Snapshot checksum mismatch: expected \(expected), got \(actual)")
            }
        }
        do {
            try await CollectionSnapshot.recover(name, from: source.path, into: db)
        } catch let e as BackupError {
            throw APIError.wrongInput(snapshots.redacted("the snapshot is damaged: \(e)"))
        } catch HSDBError.corruption(let e) {
            throw APIError.wrongInput(snapshots.redacted("the snapshot is damaged: \(e)"))
        } catch let e as HSDBError {
            let answer = APIError(e)
            throw APIError(status: answer.status, message: snapshots.redacted(answer.message))
        }
        return Envelope.ok(since: start) { $0.bool(true) }
    }

    /// A snapshot name from the path; one that could not name a snapshot file (a path
    /// traversal, say) is simply not found, as in Qdrant.
    private func snapshotName(_ context: Context, of c: Collection?) throws -> String {
        let raw = context.parameters.get("snapshot") ?? ""
        guard let name = try? Self.pathName(raw, kind: "snapshot"), name.hasSuffix(SnapshotStore.suffix), !name.hasPrefix(".") else {
            throw missing(raw.removingPercentEncoding ?? raw, of: c)
        }
        return name
    }

    private func missing(_ snapshot: String, of c: Collection?) -> APIError {
        guard let c else { return APIError.notFound("Snapshot `\(snapshot.prefix(255))` doesn't exist") }
        return APIError.notFound("Snapshot `\(snapshot.prefix(255))` of collection `\(c.name)` doesn't exist")
    }

    private func writeDescription(_ d: SnapshotStore.Description, to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("name"); w.string(d.name)
        w.key("creation_time"); w.string(d.creationTime)
        w.key("size"); w.int(d.size)
        if let checksum = d.checksum { w.key("checksum"); w.string(checksum) }
        w.endObject()
    }
}
