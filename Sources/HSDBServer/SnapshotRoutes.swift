import Backup
import HSDB
import HSDBCore
import Hummingbird

extension API {
    func registerSnapshots(on router: Router<Context>) {
        on(router, .post, "/collections/:collection/snapshots") { request, context, start in
            let c = try collection(context)
            guard API.waits(request, default: true) else {
                let (store, logger) = (snapshots, logger)
                Task.detached {
                    do { _ = try await store.create(c) } catch { logger.error("snapshot of '\(c.name)' failed: \(error)") }
                }
                return Envelope.accepted(since: start)
            }
            let d = try await snapshots.create(c)
            return Envelope.ok(since: start) { w in writeDescription(d, to: &w) }
        }

        on(router, .get, "/collections/:collection/snapshots") { _, context, start in
            let c = try collection(context)
            let all = try snapshots.list(c.name)
            return Envelope.ok(since: start) { w in
                w.beginArray()
                for d in all { writeDescription(d, to: &w) }
                w.endArray()
            }
        }

        on(router, .get, "/collections/:collection/snapshots/:snapshot") { _, context, _ in
            let name = try collectionName(context)
            let snapshot = try snapshotName(context)
            guard try snapshots.describe(name, snapshot) != nil else { throw APIError.notFound("Snapshot `\(snapshot)` of collection `\(name)` doesn't exist") }
            let body = try await FileIO().loadFile(path: snapshots.path(name, snapshot), context: context)
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: body)
        }

        on(router, .delete, "/collections/:collection/snapshots/:snapshot") { request, context, start in
            let name = try collectionName(context)
            let snapshot = try snapshotName(context)
            guard try snapshots.delete(name, snapshot) else { throw APIError.notFound("Snapshot `\(snapshot)` of collection `\(name)` doesn't exist") }
            // Deleting a file is quick, so it is done either way; `wait=false` answers as Qdrant does.
            guard API.waits(request, default: true) else { return Envelope.accepted(since: start) }
            return Envelope.ok(since: start) { $0.bool(true) }
        }

        on(router, .put, "/collections/:collection/snapshots/recover") { request, context, start in
            let name = try collectionName(context)
            let fields = try await body(request)
            guard let location = try fields.string("location") else { throw APIError.format("missing field `location`") }
            let path = try snapshots.resolve(location: location)
            if let expected = try fields.string("checksum") {
                let actual = try SnapshotStore.sha256(ofFile: path)
                guard actual == expected.lowercased() else {
                    throw APIError.wrongInput("Snapshot checksum mismatch: expected \(expected), got \(actual)")
                }
            }
            do {
                try await CollectionSnapshot.recover(name, from: path, into: db)
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

        on(router, .post, "/collections/:collection/snapshots/upload") { _, _, _ in
            throw APIError.unsupported("uploading snapshots (copy the file into the snapshots directory and recover it with a file:// location)")
        }
    }

    private func snapshotName(_ context: Context) throws -> String {
        let name = try Self.pathName(context.parameters.get("snapshot") ?? "", kind: "snapshot")
        guard name.hasSuffix(SnapshotStore.suffix), !name.hasPrefix(".") else {
            throw APIError.wrongInput("snapshot names end in \(SnapshotStore.suffix) and do not start with '.'")
        }
        return name
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
