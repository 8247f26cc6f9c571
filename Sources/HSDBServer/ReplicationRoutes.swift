import Foundation
import HSDB
import HSDBCore
import Hummingbird
import NIOCore
import Replication
import Synchronization

/// The replication routes (DESIGN.md, "Replication"): what a follower calls on its leader,
/// and `GET /replication`, where either side says how far it is.
extension API {
    func registerReplication(on router: Router<Context>) {
        on(router, .get, "/replication") { _, _, start in
            let leaderStatus = await replication.leader?.status() ?? []
            return Envelope.ok(since: start) { w in writeReplicationStatus(leaderStatus, to: &w) }
        }

        // Failover by hand: this node leads a new epoch (a follower stops following first).
        on(router, .post, "/replication/promote") { _, _, start in
            if let cluster = replication.cluster {
                throw APIError(
                    status: .conflict,
                    message: "Conflict: this server is a member of cluster '\(cluster.settings.cluster)', whose leader is elected in etcd; "
                        + "hand over with `hsdb replica switchover` (POST /cluster/switchover)")
            }
            let epoch = try await replication.promote()
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("role"); w.string("leader")
                w.key("epoch"); w.int(epoch)
                w.endObject()
            }
        }

        // A newer leader's notice: a leader of an older epoch takes no more writes.
        on(router, .post, "/replication/fence") { request, _, start in
            let epoch = try Self.unsigned(request, "epoch")
            let state = replication.state
            if try !replication.fence(epoch: epoch), !replication.isFenced, replication.follower == nil, state.leadingEpoch >= epoch {
                throw APIError(status: .conflict, message: "Conflict: this server leads epoch \(state.leadingEpoch), not older than \(epoch)")
            }
            let fenced = replication.isFenced
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("fenced"); w.bool(fenced)
                w.key("epoch"); w.int(replication.state.epoch)
                w.endObject()
            }
        }

        registerStateTree(on: router)
        registerRepairPoints(on: router)
        registerSnapshotDAG(on: router)
        registerRepairNow(on: router)

        // Either role: `hsdb replica verify` compares the two.
        on(router, .get, "/replication/collections/:collection/digest") { request, context, start in
            let c = try collection(context)
            var bucket: Int?
            if let raw = request.uri.queryParameters.get("bucket") {
                let count = request.uri.queryParameters.get("content") == "true" ? StateDigest.bucketCount : StateTree.bucketCount
                guard let b = Int(String(raw)), (0..<count).contains(b) else {
                    throw APIError.wrongInput("query parameter `bucket` must be a bucket number, 0-\(count - 1)")
                }
                bucket = b
            }
            let content = request.uri.queryParameters.get("content").map { $0 == "true" } ?? false
            let digest = content ? try await StateDigest.compute(c, leavesOf: bucket) : StateDigest.kept(c, leavesOf: bucket)
            return Envelope.ok(since: start) { $0.value(digest.json()) }
        }

        on(router, .get, "/replication/collections") { _, _, start in
            let leader = try leaderRole()
            let catalog = try ReplicationCatalog.of(db, epoch: leader.epoch)
            return Envelope.ok(since: start) { $0.value(catalog.json()) }
        }

        // The leader's running hash at an LSN: a diverged follower finds where it left.
        on(router, .get, "/replication/collections/:collection/hash") { request, context, start in
            let leader = try leaderRole()
            let c = try collection(context)
            let lsn = try Self.unsigned(request, "lsn")
            let chain = try await leader.chain(c)
            let tip = try await chain.extend()
            let hash = try await chain.hash(at: lsn)
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("lsn"); w.int(lsn)
                w.key("hash")
                if let hash { w.string(hash.hex) } else { w.null() }
                w.key("tip"); w.int(tip.lsn)
                w.endObject()
            }
        }

        on(router, .get, "/replication/collections/:collection/wal") { request, context, _ in
            let leader = try leaderRole()
            let c = try collection(context)
            let node = try followerID(request)
            let lsn = try Self.unsigned(request, "after")
            guard let hashText = request.uri.queryParameters.get("hash"), let hash = LogHash(hex: String(hashText)) else {
                throw APIError.wrongInput("query parameter `hash` must be 64 hex digits")
            }
            do {
                _ = try await leader.checkPosition(c, lsn: lsn, hash: hash, node: node)
            } catch ReplicationError.bootstrapNeeded(_, let reason) {
                throw APIError(status: .conflict, message: "Bootstrap needed: \(reason)")
            }
            let logger = logger
            let body = ResponseBody { writer in
                do {
                    try await leader.stream(c, after: lsn, hash: hash, node: node) { bytes in
                        try await writer.write(ByteBuffer(bytes: bytes))
                    }
                } catch {
                    logger.info("replication: the stream of '\(c.name)' to \(node) ended: \(error)")
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: body)
        }

        on(router, .post, "/replication/collections/:collection/ack") { request, context, start in
            let leader = try leaderRole()
            let c = try collection(context)
            let node = try followerID(request)
            let durable = try Self.unsigned(request, "durable")
            let applied = try Self.unsigned(request, "applied")
            try await leader.acknowledge(c, node: node, durable: durable, applied: applied)
            return Envelope.ok(since: start) { $0.bool(true) }
        }

        on(router, .post, "/replication/collections/:collection/snapshot") { request, context, start in
            let leader = try leaderRole()
            let c = try collection(context)
            let offer = try await leader.prepareSnapshot(c, node: try followerID(request))
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("name"); w.string(offer.name)
                w.key("lsn"); w.int(offer.lsn)
                w.key("hash"); w.string(offer.hash.hex)
                w.key("bytes"); w.int(offer.bytes)
                if let root = offer.root {
                    w.key("root"); w.string(root.text)
                    w.key("blocks"); w.int(offer.blocks)
                }
                w.key("files")
                w.beginArray()
                for f in offer.files {
                    w.beginObject()
                    w.key("name"); w.string(f.name)
                    w.key("bytes"); w.int(f.bytes)
                    w.key("sha256"); w.string(f.sha256)
                    w.endObject()
                }
                w.endArray()
                w.endObject()
            }
        }

        on(router, .get, "/replication/snapshots/:snapshot/:file") { request, context, _ in
            let leader = try leaderRole()
            let name = try Self.pathName(context.parameters.get("snapshot") ?? "", kind: "snapshot")
            let fileName = try Self.pathName(context.parameters.get("file") ?? "", kind: "file")
            guard let file = leader.snapshotFile(name, fileName) else {
                throw APIError.notFound("Replication snapshot `\(name)` has no file `\(fileName)` (a newer snapshot replaced it, or the leader restarted)")
            }
            let size = file.description.bytes
            let from = try Self.rangeStart(request) ?? 0
            guard from == 0 || from < size else {
                throw APIError(status: .rangeNotSatisfiable, message: "Range not satisfiable: the file has \(size) bytes")
            }
            let body = ResponseBody(contentLength: size - from) { writer in
                var offset = from
                while offset < size {
                    let end = min(size, offset + (1 << 20))
                    try await writer.write(file.withBytes(offset..<end) { ByteBuffer(bytes: $0) })
                    offset = end
                }
                try await writer.finish(nil)
            }
            guard from > 0 else { return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: body) }
            return Response(
                status: .partialContent,
                headers: [.contentType: "application/octet-stream", .contentRange: "bytes \(from)-\(size - 1)/\(size)"], body: body)
        }
    }

    func leaderRole() throws -> ReplicationLeader {
        guard let leader = replication.leader else {
            if replication.isFenced {
                throw APIError.wrongInput("this server is a fenced former leader (epoch \(replication.state.epoch) leads elsewhere): it ships no log")
            }
            throw APIError.wrongInput("this server is a follower of \(replication.follower?.leaderURL ?? "another server"): it ships no log of its own")
        }
        return leader
    }

    private func followerID(_ request: Request) throws -> String {
        guard let raw = request.uri.queryParameters.get("follower"), let id = UUID(uuidString: String(raw)) else {
            throw APIError.wrongInput("query parameter `follower` must be the follower's node id (a UUID)")
        }
        return id.uuidString.lowercased()
    }

    private static func unsigned(_ request: Request, _ name: String) throws -> UInt64 {
        guard let raw = request.uri.queryParameters.get(name), let value = UInt64(String(raw)) else {
            throw APIError.wrongInput("query parameter `\(name)` must be an unsigned integer")
        }
        return value
    }

    /// The start of a `Range: bytes=N-` request (the only form a resuming follower sends).
    private static func rangeStart(_ request: Request) throws -> Int? {
        guard let range = request.headers[.range] else { return nil }
        guard range.hasPrefix("bytes="), range.hasSuffix("-"), let from = Int(range.dropFirst(6).dropLast()), from >= 0 else {
            throw APIError.wrongInput("only `Range: bytes=N-` is supported")
        }
        return from
    }

    private func writeReplicationStatus(_ leaderStatus: [LeaderFollowerStatus], to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("role"); w.string(replication.role)
        w.key("node_id"); w.string(replication.state.nodeID.uuidString.lowercased())
        if replication.isFenced {
            w.key("epoch"); w.int(replication.state.epoch)
            w.key("leading_epoch"); w.int(replication.state.leadingEpoch)
        }
        if let follower = replication.follower {
            w.key("leader"); w.string(follower.leaderURL)
            w.key("epoch"); w.int(follower.epochSeen)
            w.key("catalog_error")
            if let e = follower.lastCatalogError { w.string(e) } else { w.null() }
            w.key("collections")
            w.beginArray()
            for s in follower.status() {
                w.beginObject()
                w.key("name"); w.string(s.collection)
                w.key("state"); w.string(s.state.rawValue)
                w.key("applied_lsn"); w.int(s.appliedLSN)
                w.key("leader_lsn"); w.int(s.leaderLSN)
                w.key("lag_records"); w.int(s.lagRecords)
                w.key("lag_seconds"); w.double(s.lagSeconds)
                w.key("bootstraps"); w.int(s.bootstraps)
                w.key("streams_opened"); w.int(s.streamsOpened)
                w.key("rejected_frames"); w.int(s.rejectedFrames)
                w.key("bytes_received"); w.int(s.bytesReceived)
                w.key("snapshot_bytes_fetched"); w.int(s.snapshotBytesFetched)
                w.key("tree_checks"); w.int(s.treeChecks)
                w.key("points_repaired"); w.int(s.pointsRepaired)
                w.key("last_tree_check")
                if let t = s.lastTreeCheck { w.string(t) } else { w.null() }
                w.key("last_error")
                if let e = s.lastError { w.string(e) } else { w.null() }
                w.endObject()
            }
            w.endArray()
        } else if let leader = replication.leader {
            w.key("epoch"); w.int(leader.epoch)
            w.key("slot_max_bytes"); w.int(leader.slotMaxBytes)
            w.key("dropped_slots"); w.int(leader.droppedSlots.load(ordering: .relaxed))
            w.key("followers")
            w.beginArray()
            for f in leaderStatus {
                w.beginObject()
                w.key("node_id"); w.string(f.node)
                w.key("collection"); w.string(f.collection)
                w.key("connected"); w.bool(f.connected)
                w.key("dropped"); w.bool(f.dropped)
                w.key("sent_lsn"); w.int(f.sentLSN)
                w.key("durable_lsn")
                if let d = f.durableLSN { w.int(d) } else { w.null() }
                w.key("applied_lsn")
                if let a = f.appliedLSN { w.int(a) } else { w.null() }
                w.key("leader_lsn"); w.int(f.leaderLSN)
                w.key("lag_records"); w.int(f.lagRecords)
                w.key("lag_bytes")
                if let b = f.lagBytes { w.int(b) } else { w.null() }
                w.key("retained_wal_bytes"); w.int(f.retainedWALBytes)
                w.key("seconds_since_ack")
                if let s = f.secondsSinceAck { w.double(s) } else { w.null() }
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
    }
}
