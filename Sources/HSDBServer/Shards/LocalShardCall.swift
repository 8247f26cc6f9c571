import HTTPTypes
import Hummingbird
import NIOHTTP1
import Replication

/// A read for this node's own copy of a shard, answered in process by the copy's router
/// rather than over a connection to this very node: one hop of the fan-out costs no socket,
/// no HTTP parsing and no second request on the event loops (DESIGN.md, "Reads across shards").
enum LocalShardCall {
    /// The context of the request being routed (set by `ShardCoordinator` for its reads).
    @TaskLocal static var context: HSDBRequestContext?

    static let epochHeader = HTTPField.Name("hsdb-leader-epoch")!

    static func answer(
        _ group: ShardGroup, _ method: HTTPMethod, _ path: String, body: [UInt8]?, revision: Int64, context: HSDBRequestContext
    ) async throws -> PeerClient.Answer {
        let headers: HTTPFields = [ShardDispatchMiddleware.revisionHeader: String(revision)]
        let answer = try await InProcessCall.send(
            HTTPRequest.Method(method.rawValue)!, path, body: body ?? [], headers: headers, to: group.responder, context: context)
        return PeerClient.Answer(
            status: Int(answer.status.code), body: answer.body, location: answer.headers[.location],
            leaderEpoch: answer.headers[Self.epochHeader])
    }
}
