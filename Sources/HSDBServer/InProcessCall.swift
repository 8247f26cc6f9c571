import HSDBCore
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A request answered in process by a router's responder, with no connection: a read of this
/// node's own shard copy, a gRPC call answered by the REST routes. The answer is whole.
enum InProcessCall {
    struct Answer: Sendable {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: ByteBuffer
    }

    /// A request body handed over already parsed (a gRPC call's, converted from its message):
    /// the routes take it instead of reading bytes, which are then not made at all. Set only
    /// around the one request `send` makes, so no other request (a nested one included) sees it.
    @TaskLocal static var parsedBody: JSONValue?

    static func send(
        _ method: HTTPRequest.Method, _ path: String, body: [UInt8]?, parsed: JSONValue? = nil, headers: HTTPFields = [:],
        to responder: some HTTPResponder<HSDBRequestContext>, context: HSDBRequestContext
    ) async throws -> Answer {
        var head = HTTPRequest(method: method, scheme: "http", authority: "localhost", path: path)
        head.headerFields = headers
        if let body {
            head.headerFields[.contentType] = "application/json"
            head.headerFields[.contentLength] = String(body.count)
        }
        let request = Request(head: head, body: .init(buffer: ByteBuffer(bytes: body ?? [])))
        let response = try await $parsedBody.withValue(parsed) { try await responder.respond(to: request, context: context) }
        let sink = BodySink()
        try await response.body.write(BodySink.Writer(sink: sink))
        return Answer(status: response.status, headers: response.headers, body: sink.buffer.withLock { $0 })
    }

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
