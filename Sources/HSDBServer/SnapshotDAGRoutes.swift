import HSDBCore
import Hummingbird
import IPLD
import NIOCore
import Replication

/// The routes that serve a prepared bootstrap snapshot as its Merkle DAG, in CARv1
/// (DESIGN.md, "Bootstrap snapshots as DAGs").
extension API {
    func registerSnapshotDAG(on router: Router<Context>) {
        // The whole DAG in pre-order; `?leaves=false`: the root and the DAG-PB nodes only.
        on(router, .get, "/replication/dags/:snapshot") { request, context, _ in
            let (prepared, dag) = try snapshotDAG(context)
            let leaves = try Self.flag(request, "leaves", default: true)
            let cids = leaves ? dag.preorder : dag.preorder.filter { $0.codec != .raw }
            return Self.carResponse(root: dag.root, cids, prepared, dag)
        }

        // The blocks asked for, in the order asked: `{"cids": ["bafk...", ...]}`.
        on(router, .post, "/replication/dags/:snapshot/blocks") { request, context, _ in
            let (prepared, dag) = try snapshotDAG(context)
            guard case .array(let list)? = try await body(request)["cids"] else {
                throw APIError.wrongInput("the body needs `cids`, an array of CIDs of the snapshot's blocks")
            }
            let cids = try list.enumerated().map { i, v throws(APIError) -> CID in
                guard case .string(let text) = v, let cid = try? CID(text: text) else {
                    throw APIError.wrongInput("cids[\(i)] is not a CID")
                }
                guard dag.holds(cid) else { throw APIError.wrongInput("cids[\(i)]: \(text) is not a block of this snapshot") }
                return cid
            }
            return Self.carResponse(root: dag.root, cids, prepared, dag)
        }
    }

    private func snapshotDAG(_ context: Context) throws -> (PreparedSnapshot, SnapshotDAG) {
        let leader = try leaderRole()
        let name = try Self.pathName(context.parameters.get("snapshot") ?? "", kind: "snapshot")
        guard let found = leader.snapshotDAG(name) else {
            throw APIError.notFound("Replication snapshot `\(name)` is gone (a newer snapshot replaced it, or the leader restarted)")
        }
        return found
    }

    private static func flag(_ request: Request, _ name: String, default value: Bool) throws -> Bool {
        guard let raw = request.uri.queryParameters.get(name) else { return value }
        guard let parsed = Bool(String(raw)) else { throw APIError.wrongInput("query parameter `\(name)` must be true or false") }
        return parsed
    }

    /// A CARv1 stream of `cids` under `root`, about 1 MiB a write; leaves are copied once,
    /// from the capture's mapping into the buffer sent.
    private static func carResponse(root: CID, _ cids: [CID], _ prepared: PreparedSnapshot, _ dag: SnapshotDAG) -> Response {
        let body = ResponseBody { writer in
            var buffer = ByteBuffer(bytes: CARWriter.header(roots: [root]))
            for cid in cids {
                try dag.withBlock(cid, of: prepared) { block in
                    buffer.writeBytes(try CARWriter.sectionHead(cid, blockBytes: block.count))
                    buffer.writeBytes(block)
                }
                if buffer.readableBytes >= 1 << 20 {
                    try await writer.write(buffer)
                    buffer = ByteBuffer()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/vnd.ipld.car; version=1"], body: body)
    }
}
