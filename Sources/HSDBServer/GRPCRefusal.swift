import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

/// A listener where Qdrant's gRPC API would be (port 6334), so that a client configured with
/// `prefer_grpc=True` gets a clear answer instead of "connection refused": every call is
/// answered with gRPC status 12 (UNIMPLEMENTED) and a message naming the REST port. It speaks
/// HTTP/2 with prior knowledge, as gRPC's plaintext channels do; a real gRPC API is later work.
public enum GRPCRefusal {
    /// gRPC's status code for a method the server does not implement.
    static let unimplemented = 12

    /// A bound listener; `close()` stops it.
    public final class Listener: Sendable {
        let channel: any Channel
        init(channel: any Channel) { self.channel = channel }
        public var port: Int? { channel.localAddress?.port }
        public func close() async { try? await channel.close() }
    }

    /// Binds `host:port` (0: any free port) and serves until the listener is closed.
    public static func listen(host: String, port: Int, restPort: Int) async throws -> Listener {
        let message = "hsdb serves Qdrant's REST API only, on port \(restPort); gRPC is not implemented (use prefer_grpc=False)"
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.configureHTTP2Pipeline(mode: .server, inboundStreamInitializer: { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(UnimplementedCallHandler(message: message))
                    }
                }).map { _ in () }
            }
            .bind(host: host, port: port).get()
        return Listener(channel: channel)
    }
}

/// Answers the call on one HTTP/2 stream, once its headers arrive, with a trailers-only
/// response: `:status 200`, `content-type: application/grpc`, `grpc-status: 12` and the
/// message, ending the stream. What the client sends after its headers is dropped.
final class UnimplementedCallHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let message: String
    private var answered = false

    init(message: String) { self.message = message }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .headers = unwrapInboundIn(data), !answered else { return }
        answered = true
        let headers: HPACKHeaders = [
            ":status": "200", "content-type": "application/grpc",
            "grpc-status": String(GRPCRefusal.unimplemented), "grpc-message": message,
        ]
        context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: headers, endStream: true))), promise: nil)
    }
}
