import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Kept-alive HTTP/1.1 connections to other nodes, for the calls one node makes on a shard's
/// behalf (a search per shard for every query): a new TCP connection per call cost about as
/// much as the call itself. A call takes an idle connection to its peer (or opens one), and
/// gives it back when the answer is whole and the peer keeps it open; calls never share one
/// at the same time. A connection silent for the read timeout is closed, idle or not.
final class PeerConnections: Sendable {
    static let shared = PeerConnections()
    /// Idle connections kept per peer; more are closed when given back.
    static let maxIdlePerPeer = 32
    static let connectTimeout: TimeAmount = .seconds(2)

    private let idle = Mutex<[String: [any Channel]]>([:])

    /// Sends `head` and `body` to `address` and returns the whole answer. A kept connection
    /// the peer closed while it was idle fails before any answer: the call is sent again, once,
    /// on a new connection (it never reached the peer).
    func exchange(
        _ address: LeaderAddress, head: HTTPRequestHead, body: [UInt8]?, readTimeout: TimeAmount, maxAnswerBytes: Int, peer: String
    ) async throws -> PeerExchange.Answer {
        let key = "\(address.host):\(address.port)"
        let call = { (channel: any Channel) in
            try await self.exchange(on: channel, key: key, head: head, body: body)
        }
        do {
            if let kept = take(key) {
                do {
                    return try await call(kept)
                } catch PeerExchange.Failure.closedBeforeAnswer {
                }
            }
            let fresh = try await connect(address, readTimeout: readTimeout, maxAnswerBytes: maxAnswerBytes, peer: peer)
            return try await call(fresh)
        } catch let failure as PeerExchange.Failure {
            throw failure.error(peer: peer)
        }
    }

    private func exchange(on channel: any Channel, key: String, head: HTTPRequestHead, body: [UInt8]?) async throws -> PeerExchange.Answer {
        let promise = channel.eventLoop.makePromise(of: PeerExchange.Answer.self)
        let request = PeerExchange.Call(head: head, body: body.map { ByteBuffer(bytes: $0) }, answer: promise)
        channel.writeAndFlush(request).whenFailure { _ in promise.fail(PeerExchange.Failure.closedBeforeAnswer) }
        do {
            let answer = try await promise.futureResult.get()
            if answer.head.isKeepAlive { giveBack(channel, key: key) } else { channel.close(promise: nil) }
            return answer
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    private func take(_ key: String) -> (any Channel)? {
        idle.withLock { all in
            while let channel = all[key]?.popLast() {
                if channel.isActive { return channel }
            }
            return nil
        }
    }

    private func giveBack(_ channel: any Channel, key: String) {
        let kept = idle.withLock { all in
            guard channel.isActive, all[key, default: []].count < Self.maxIdlePerPeer else { return false }
            all[key, default: []].append(channel)
            return true
        }
        if !kept { channel.close(promise: nil) }
    }

    private func connect(_ address: LeaderAddress, readTimeout: TimeAmount, maxAnswerBytes: Int, peer: String) async throws -> any Channel {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(Self.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(IdleStateHandler(readTimeout: readTimeout))
                    try pipeline.addHandler(PeerExchange.Handler(maxAnswerBytes: maxAnswerBytes, readTimeout: readTimeout))
                }
            }
        do {
            if let target = try? SocketAddress(ipAddress: address.host, port: address.port) {
                return try await bootstrap.connect(to: target).get()
            }
            return try await bootstrap.connect(host: address.host, port: address.port).get()
        } catch {
            throw ReplicationError.io("cannot reach \(peer): \(error)")
        }
    }
}
