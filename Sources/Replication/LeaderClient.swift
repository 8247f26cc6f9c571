import Foundation
import HSDBCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// A follower's HTTP/1.1 calls to its leader's replication routes (DESIGN.md, "Replication"),
/// one connection per call (`Connection: close`): calls are few and long (a WAL stream lives
/// until the link breaks), so pooling would buy nothing. A dead link shows as a read timeout:
/// the leader sends a heartbeat at least every `ReplicationLeader.heartbeat`, so a connection
/// silent for `readTimeout` is gone, and its call fails instead of hanging.
struct LeaderClient: Sendable {
    static let connectTimeout: TimeAmount = .seconds(2)
    static let readTimeout: TimeAmount = .seconds(5)
    /// For calls the leader answers after real work (writing a snapshot of a collection).
    static let preparationTimeout: TimeAmount = .minutes(5)

    let address: LeaderAddress
    let apiKey: String?
    /// Who answers, as errors name it: "the leader", or "etcd" for the cluster's store.
    let peer: String
    /// Short calls with short answers (a node's call on a shard's behalf, etcd's): NIO's
    /// default read buffers rather than a stream's large ones.
    var short = false

    init(leader: String, apiKey: String?, peer: String = "the leader") throws(ReplicationError) {
        address = try LeaderAddress(leader)
        self.apiKey = apiKey
        self.peer = peer
    }

    /// The URL as given (for status pages and errors).
    var base: String { address.url }
    /// "the leader at URL", as messages name the peer.
    var described: String { "\(peer) at \(base)" }

    /// Percent-encodes a path segment (collection names may hold any character but `/`).
    static func segment(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    struct Request: Sendable {
        var method: HTTPMethod
        var path: String
        var headers: [(String, String)]
        /// How long the leader may stay silent (longer for calls that make it work first).
        var readTimeout: TimeAmount
        /// A JSON body (etcd's calls), sent with the head.
        var body: [UInt8]? = nil
    }

    func request(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], readTimeout: TimeAmount = Self.readTimeout,
        json body: [UInt8]? = nil
    ) -> Request {
        Request(method: method, path: path, headers: headers, readTimeout: readTimeout, body: body)
    }

    /// Sends `request` and, when the answer's status is one of `accepting`, hands it to `read`
    /// while the connection is open; else throws `ReplicationError.leader` with the leader's
    /// status and message (`bootstrapNeeded` for 409 on a collection route).
    func send<T: Sendable>(
        _ request: Request, accepting: Set<UInt> = [200], collection: String? = nil,
        isolation: isolated (any Actor)? = #isolation,
        _ read: (inout LeaderResponse) async throws -> T
    ) async throws -> T {
        let channel = try await connect(readTimeout: request.readTimeout)
        return try await channel.executeThenClose { inbound, outbound in
            // Head and end in one write: the leader may answer a body-less request and close
            // (`Connection: close`) as soon as the head is in, and a separate write of the end
            // would then fail on the closed channel although the answer arrived. Should the
            // write still fail that way, the answer is read all the same.
            var parts: [HTTPClientRequestPart] = [.head(head(of: request))]
            if let body = request.body { parts.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            parts.append(.end(nil))
            do {
                try await outbound.write(contentsOf: parts)
            } catch ChannelError.ioOnClosedChannel {
            } catch ChannelError.alreadyClosed {
            }
            var response = try await LeaderResponse.begin(inbound.makeAsyncIterator(), from: described)
            if accepting.contains(response.status) { return try await read(&response) }
            let message = Self.message(in: try await response.collect(upTo: 1 << 20))
            if response.status == 409, let collection {
                throw ReplicationError.bootstrapNeeded(collection: collection, reason: message)
            }
            throw ReplicationError.leader(status: Int(response.status), message: message)
        }
    }

    /// A JSON answer's `result`.
    func json(_ request: Request, collection: String? = nil) async throws -> JSONValue {
        let body = try await send(request, collection: collection) { try await $0.collect(upTo: 64 << 20) }
        let value = try body.withUnsafeReadableBytes { try JSONParser.parse($0) }
        guard case .object(let top) = value, let result = top["result"] else {
            throw ReplicationError.leader(status: 200, message: "the answer has no result")
        }
        return result
    }

    private typealias Channel = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    private func connect(readTimeout: TimeAmount) async throws -> Channel {
        do {
            var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(Self.connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
            if !short {
                // A stream's bytes are read ahead of the consumer (a few MiB, in reads of up to
                // 1 MiB), so the leader keeps sending while the follower checks and applies a
                // frame; with NIO's defaults (10 reads of 2 KiB-64 KiB) the two took turns.
                bootstrap = bootstrap
                    .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64 << 10, initial: 256 << 10, maximum: 1 << 20))
                    .channelOption(.socketOption(.so_rcvbuf), value: 8 << 20)
            }
            // An IP address is connected to as is: resolving it would cost a resolver round.
            let target = try? SocketAddress(ipAddress: address.host, port: address.port)
            let initializer: @Sendable (any NIOCore.Channel) -> EventLoopFuture<Channel> = { [described] channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(IdleStateHandler(readTimeout: readTimeout))
                    try pipeline.addHandler(SilenceCloser(peer: described, timeout: readTimeout))
                    return try Channel(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(backPressureStrategy: .init(lowWatermark: 16, highWatermark: 64)))
                }
            }
            if let target { return try await bootstrap.connect(to: target, channelInitializer: initializer) }
            return try await bootstrap.connect(host: address.host, port: address.port, channelInitializer: initializer)
        } catch {
            throw ReplicationError.io("cannot reach \(described): \(error)")
        }
    }

    private func head(of request: Request) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: address.prefix + request.path)
        head.headers.add(name: "Host", value: address.hostHeader)
        head.headers.add(name: "Connection", value: "close")
        if let body = request.body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(body.count))
        } else if request.method == .POST || request.method == .PUT {
            head.headers.add(name: "Content-Length", value: "0")
        }
        if let apiKey { head.headers.add(name: "api-key", value: apiKey) }
        for (name, value) in request.headers { head.headers.add(name: name, value: value) }
        return head
    }

    /// The message in a Qdrant error envelope (`status.error`), or the body's text.
    static func message(in body: ByteBuffer) -> String {
        if let value = try? body.withUnsafeReadableBytes({ try JSONParser.parse($0) }),
            case .object(let top) = value, case .object(let status)? = top["status"], case .string(let error)? = status["error"] {
            return error
        }
        return body.readableBytes == 0 ? "(no message)" : String(buffer: body)
    }
}

/// An answer being read: its status, then its body chunk by chunk.
struct LeaderResponse {
    let status: UInt
    let headers: HTTPHeaders
    private var parts: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private var ended = false
    /// "the leader at URL" (or etcd), for errors.
    private let peer: String

    static func begin(
        _ parts: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator, from peer: String
    ) async throws -> LeaderResponse {
        var parts = parts
        while true {
            switch try await parts.next() {
            case .head(let head) where head.status.code >= 200:
                return LeaderResponse(status: head.status.code, headers: head.headers, parts: parts, peer: peer)
            case .head, .body, .end:
                continue  // an interim 1xx answer
            case nil:
                throw ReplicationError.io("\(peer) closed the connection before answering")
            }
        }
    }

    private init(status: UInt, headers: HTTPHeaders, parts: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator, peer: String) {
        self.status = status
        self.headers = headers
        self.parts = parts
        self.peer = peer
    }

    /// The next piece of the body, or nil at its end.
    mutating func next() async throws -> ByteBuffer? {
        while !ended {
            switch try await parts.next() {
            case .body(let chunk): return chunk
            case .end: ended = true
            case .head: throw ReplicationError.io("\(peer) sent a second answer head")
            case nil: throw ReplicationError.io("\(peer) closed the connection mid-answer")
            }
        }
        return nil
    }

    /// The rest of the body, refusing more than `limit` bytes.
    mutating func collect(upTo limit: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        while var chunk = try await next() {
            guard all.readableBytes + chunk.readableBytes <= limit else {
                throw ReplicationError.io("the answer from \(peer) is over \(limit) bytes")
            }
            all.writeBuffer(&chunk)
        }
        return all
    }
}

/// Turns the read timeout's silence into an error on the connection, then closes it.
private final class SilenceCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let peer: String
    let timeout: TimeAmount

    init(peer: String, timeout: TimeAmount) {
        self.peer = peer
        self.timeout = timeout
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        let seconds = timeout.nanoseconds / 1_000_000_000
        context.fireErrorCaught(ReplicationError.io("\(peer) sent nothing for \(seconds) s"))
        context.close(promise: nil)
    }
}
