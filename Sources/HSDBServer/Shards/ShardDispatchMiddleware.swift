import HTTPTypes
import Hummingbird
import Replication

/// Hands a request for `/shards/<uid>/<k>/...` to this node's copy of that shard, as if that
/// copy were a server of its own at that prefix. A request that carries a shard map revision
/// newer than this node's map makes it read the maps first; a node that holds no copy of the
/// shard (any more) answers 409, so the sender reads the map again and tries elsewhere.
struct ShardDispatchMiddleware: RouterMiddleware {
    static let revisionHeader = HTTPField.Name("hsdb-shard-map-revision")!
    let groups: ShardGroups

    func handle(
        _ request: Request, context: HSDBRequestContext, next: (Request, HSDBRequestContext) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/shards/") else { return try await next(request, context) }
        let parts = path.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: true)
        guard parts.count >= 3, let shard = Int(parts[2]) else {
            throw APIError(status: .notFound, message: "Not found: expected /shards/<uid>/<shard>/...")
        }
        let uid = String(parts[1])
        if let sent = request.headers[Self.revisionHeader].flatMap({ Int64($0) }),
            let mine = groups.maps.values.first(where: { $0.uid == uid }), mine.revision < sent
        {
            _ = try? await groups.refresh()
        }
        let placed = groups.maps.values.contains { $0.uid == uid && $0.shards(on: groups.nodeName).contains(shard) }
        guard placed, let group = groups.group(uid: uid, shard: shard) else {
            throw APIError(status: .conflict, message: "Conflict: node \(groups.nodeName) holds no copy of shard \(shard) of \(uid) now")
        }
        var head = request.head
        let prefix = ClusterSettings.groupPath(uid: uid, shard: shard)
        head.path = String((head.path ?? "").dropFirst(prefix.count))
        if head.path?.isEmpty ?? true { head.path = "/" }
        return try await group.responder.respond(to: Request(head: head, body: request.body), context: context)
    }
}
