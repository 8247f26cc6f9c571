import HSDB
import HSDBCore
import Hummingbird
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
