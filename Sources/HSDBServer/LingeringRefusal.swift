import NIOCore

/// Refuses a request that hsdb will not read (a CONNECT, a body declared over the limit) so
/// that the answer reaches the client. Closing a socket that still holds unread request bytes
/// makes the kernel send RST, and an RST discards the answer waiting in the client's buffers;
/// a client that sends its whole body before reading would instead block on a full window.
/// So, as nginx's lingering close does, the answer is written ahead of the HTTP codec, the
/// output half-closed, and whatever the client still sends is read and dropped until it closes
/// its end or `linger` passes.
enum LingeringRefusal {
    /// How long a refused connection is drained at most before it is closed regardless.
    static let linger = TimeAmount.seconds(30)

    /// Answers on `channel` with `status` and `body` (a JSON envelope), then drains and closes
    /// it. Returns once the connection is closed.
    static func refuse(channel: any Channel, status: Int, reason: String, body: [UInt8]) async throws {
        let head = "HTTP/1.1 \(status) \(reason)\r\nserver: hsdb\r\ncontent-type: application/json\r\n"
            + "content-length: \(body.count)\r\nconnection: close\r\n\r\n"
        let answer = Array(head.utf8) + body
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(
                LingeringRefusalHandler(answer: answer, linger: linger), position: .first)
        }.get()
        try await channel.closeFuture.get()
    }
}

/// Sits first in the pipeline once a request is refused: writes the answer straight to the
/// socket, half-closes the output after it, and swallows every byte that arrives so the HTTP
/// codec behind it never sees them.
final class LingeringRefusalHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let answer: [UInt8]
    private let linger: TimeAmount
    private var deadline: Scheduled<Void>?

    init(answer: [UInt8], linger: TimeAmount) {
        self.answer = answer
        self.linger = linger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: answer))).whenComplete { _ in
            bound.value.close(mode: .output, promise: nil)
        }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: linger) { bound.value.close(promise: nil) }
        context.read()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Dropped: the request is refused, only its bytes have to leave the socket buffer.
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client closed its end: everything it sent has been read, so no RST.
        if case .some(.inputClosed) = event as? ChannelEvent { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }
}
