import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Replication
import Synchronization

/// A read for this node's own copy of a shard, answered in process by the copy's router
/// rather than over a connection to this very node: one hop of the fan-out costs no socket,
/// no HTTP parsing and no second request on the event loops (DESIGN.md, "Reads across shards").
enum LocalShardCall {
    /// The context of the request being routed (set by `ShardCoordinator` for its reads).
    @TaskLocal static var context: HSDBRequestContext?

    static func answer(
        _ group: ShardGroup, _ method: HTTPMethod, _ path: String, body: [UInt8]?, revision: Int64, context: HSDBRequestContext
    ) async throws -> PeerClient.Answer {
        var head = HTTPRequest(method: HTTPRequest.Method(method.rawValue)!, scheme: "http", authority: "localhost", path: path)
        head.headerFields[.contentType] = "application/json"
        head.headerFields[ShardDispatchMiddleware.revisionHeader] = String(revision)
        let request = Request(head: head, body: .init(buffer: ByteBuffer(bytes: body ?? [])))
        let response = try await group.responder.respond(to: request, context: context)
        let sink = BodySink()
        try await response.body.write(BodySink.Writer(sink: sink))
        return PeerClient.Answer(
            status: Int(response.status.code), body: sink.buffer.withLock { $0 }, location: response.headers[.location],
            leaderEpoch: response.headers[Self.epochHeader])
    }

    static let epochHeader = HTTPField.Name("hsdb-leader-epoch")!

    /// Collects a response's body.
    final class BodySink: Sendable {
        let buffer = Mutex(ByteBuffer())

        struct Writer: ResponseBodyWriter {
            let sink: BodySink

            mutating func write(_ chunk: ByteBuffer) async throws {
                sink.buffer.withLock { b in
                    var chunk = chunk
                    b.writeBuffer(&chunk)
                }
            }

            consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
        }
    }
}
