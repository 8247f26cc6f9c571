import NIOCore
import NIOHTTP1

/// One request and its answer on a kept-alive connection (`PeerConnections`).
enum PeerExchange {
    struct Call: Sendable {
        let head: HTTPRequestHead
        let body: ByteBuffer?
        let answer: EventLoopPromise<Answer>
    }

    struct Answer: Sendable {
        let head: HTTPResponseHead
        let body: ByteBuffer
    }

    enum Failure: Error {
        /// The connection closed (or could not be written) before an answer began: the peer
        /// never took the request.
        case closedBeforeAnswer
        case closedMidAnswer
        case silent(TimeAmount)
        case tooLarge(Int)
        case channel(any Error)

        func error(peer: String) -> ReplicationError {
            switch self {
            case .closedBeforeAnswer: return .io("\(peer) closed the connection before answering")
            case .closedMidAnswer: return .io("\(peer) closed the connection mid-answer")
            case .silent(let t): return .io("\(peer) sent nothing for \(t.nanoseconds / 1_000_000_000) s")
            case .tooLarge(let limit): return .io("the answer from \(peer) is over \(limit) bytes")
            case .channel(let e): return .io("the connection to \(peer) failed: \(e)")
            }
        }
    }

    /// Writes a call's request and collects its answer, failing the call's promise when the
    /// connection breaks, stays silent past the read timeout, or the answer is too large.
    final class Handler: ChannelDuplexHandler {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundIn = Call
        typealias OutboundOut = HTTPClientRequestPart

        let maxAnswerBytes: Int
        let readTimeout: TimeAmount
        private var waiting: EventLoopPromise<Answer>?
        private var head: HTTPResponseHead?
        private var body = ByteBuffer()

        init(maxAnswerBytes: Int, readTimeout: TimeAmount) {
            self.maxAnswerBytes = maxAnswerBytes
            self.readTimeout = readTimeout
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            let call = unwrapOutboundIn(data)
            waiting = call.answer
            head = nil
            body.clear()
            context.write(wrapOutboundOut(.head(call.head)), promise: nil)
            if let b = call.body { context.write(wrapOutboundOut(.body(.byteBuffer(b))), promise: nil) }
            context.write(wrapOutboundOut(.end(nil)), promise: promise)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                if h.status.code >= 200 { head = h }  // an interim 1xx answer is skipped
            case .body(var chunk):
                guard head != nil else { return }
                guard body.readableBytes + chunk.readableBytes <= maxAnswerBytes else {
                    fail(.tooLarge(maxAnswerBytes))
                    context.close(promise: nil)
                    return
                }
                body.writeBuffer(&chunk)
            case .end:
                guard let h = head, let promise = waiting else { return }
                waiting = nil
                head = nil
                let answer = Answer(head: h, body: body)
                body = ByteBuffer()
                promise.succeed(answer)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            fail(head == nil ? .closedBeforeAnswer : .closedMidAnswer)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            fail(.channel(error))
            context.close(promise: nil)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
                context.fireUserInboundEventTriggered(event)
                return
            }
            // Silent while a call waits: the peer is gone. Idle between calls: close it too.
            fail(.silent(readTimeout))
            context.close(promise: nil)
        }

        private func fail(_ failure: Failure) {
            guard let promise = waiting else { return }
            waiting = nil
            promise.fail(failure)
        }
    }
}
