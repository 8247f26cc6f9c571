import HSDB
import HSDBCore
import Hummingbird
import NIOCore
import Replication

/// `GET /replication/collections/{c}/tree` (either role; DESIGN.md, "State tree"): without
/// `lsn`, the tree's root now, held for two minutes; with `lsn=L&level=K&nodes=BITMAP`, the
/// children of those nodes of level K in the tree held at L (the leaves, for K = 3).
extension API {
    func registerStateTree(on router: Router<Context>) {
        on(router, .get, "/replication/collections/:collection/tree") { request, context, start in
            let c = try collection(context)
            let name = c.name
            let query = request.uri.queryParameters
            guard let rawLSN = query.get("lsn") else {
                let now = c.stateTree()
                treePins.pin(name, now)
                return Envelope.ok(since: start) { $0.value(StateTreeAnswer(now.tree, lsn: now.lsn).json()) }
            }
            guard let lsn = UInt64(String(rawLSN)) else { throw APIError.wrongInput("query parameter `lsn` must be an unsigned integer") }
            guard let levelText = query.get("level"), let level = Int(String(levelText)), (0...StateTree.depth).contains(level) else {
                throw APIError.wrongInput("query parameter `level` must be a tree level, 0-\(StateTree.depth)")
            }
            guard let nodesText = query.get("nodes"), let nodes = StateTreeNodeSet.decode(String(nodesText), level: level) else {
                throw APIError.wrongInput("query parameter `nodes` must be a hex bitmap of level \(level)'s \(1 << (4 * level)) nodes")
            }
            let held = try heldTree(c, name, at: lsn)
            let answer = level < StateTree.depth
                ? StateTreeAnswer(held.tree, lsn: lsn, childrenOf: nodes.map { (level, $0) })
                : StateTreeAnswer(held.tree, lsn: lsn, leavesOf: nodes)
            return Envelope.ok(since: start) { $0.value(answer.json()) }
        }
    }

    /// The tree at `lsn`: held since a root was asked, or the current one if still at `lsn`.
    private func heldTree(_ c: Collection, _ name: String, at lsn: UInt64) throws -> CollectionTree {
        if let held = treePins.tree(name, at: lsn) { return held }
        let now = c.stateTree()
        guard now.lsn == lsn else {
            throw APIError(
                status: .conflict,
                message: "Conflict: the state tree of '\(name)' at LSN \(lsn) is no longer held (it is at LSN \(now.lsn)); ask for the root again")
        }
        return now
    }
}

extension API {
    /// `POST /replication/collections/{c}/points` `{"ids": [...]}` (either role): the points
    /// held now, at their versions, for a copy setting itself right (`RepairPointsCodec`).
    func registerRepairPoints(on router: Router<Context>) {
        on(router, .post, "/replication/collections/:collection/points") { request, context, _ in
            let c = try collection(context)
            let fields = try await body(request)
            guard let idsValue = fields["ids"] else { throw APIError.wrongInput("the body needs `ids`, an array of point ids") }
            let ids = try PointDecoding.ids(idsValue, path: "ids", limit: 1_000_000)
            let records = try c.get(ids: ids, projection: .everything)
            let bytes = RepairPointsCodec.encode(records, lanes: c.config.namedVectors, dimension: c.config.dimension)
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}

extension API {
    /// `POST /replication/repair[?collection=c]` (a follower): compares now each collection
    /// (or c) with the leader's by their state trees and repairs what differs.
    func registerRepairNow(on router: Router<Context>) {
        on(router, .post, "/replication/repair") { request, _, start in
            guard let follower = replication.follower else {
                throw APIError.wrongInput("this server is not a follower: only a follower repairs its copy from its leader")
            }
            let only = request.uri.queryParameters.get("collection").map { String($0) }
            if let only { _ = try db.collection(only) }
            let results = await follower.checkAgainstLeader(only)
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("collections")
                w.beginArray()
                for (name, outcome) in results { Self.write(name, outcome, to: &w) }
                w.endArray()
                w.endObject()
            }
        }
    }

    private static func write(_ name: String, _ outcome: Result<ReplicaRepair.Outcome, any Error>, to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("name"); w.string(name)
        switch outcome {
        case .success(.equal(let lsn)):
            w.key("outcome"); w.string("equal")
            w.key("lsn"); w.int(lsn)
        case .success(.notAligned(let leader, let local)):
            w.key("outcome"); w.string("not_aligned")
            w.key("leader_lsn"); w.int(leader)
            w.key("lsn"); w.int(local)
        case .success(.repaired(let lsn, let found, let result)):
            w.key("outcome"); w.string("repaired")
            w.key("lsn"); w.int(lsn)
            w.key("differing"); w.int(found.ids.count)
            w.key("replaced"); w.int(result.replaced)
            w.key("removed"); w.int(result.removed)
            w.key("skipped"); w.int(result.skipped.count)
        case .failure(let error):
            w.key("outcome"); w.string("failed")
            w.key("error"); w.string("\(error)")
        }
        w.endObject()
    }
}
