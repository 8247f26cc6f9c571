import NIOCore
import NIOHTTP1

/// A node's calls to another node's REST API on a shard's behalf (a part of a write sent to
/// its shard's leader, a search sent to one copy of each shard), on connections kept alive
/// between calls (`PeerConnections`), answered with whatever status the peer gives.
public struct PeerClient: Sendable {
    public struct Answer: Sendable {
        public var status: Int
        public var body: ByteBuffer
        /// A redirect's target (`Location`), as a follower's copy of a shard answers a write.
        public var location: String?
        /// `hsdb-leader-epoch`: the copy's leader vouched for this read (DESIGN.md, "Clients and writes").
        public var leaderEpoch: String?

        public init(status: Int, body: ByteBuffer, location: String?, leaderEpoch: String?) {
            self.status = status
            self.body = body
            self.location = location
            self.leaderEpoch = leaderEpoch
        }
    }

    /// How long a peer may stay silent while it works on a call (a big search).
    public static let readTimeout: TimeAmount = .seconds(60)
    static let maxAnswerBytes = 256 << 20

    let apiKey: String?

    public init(apiKey: String?) { self.apiKey = apiKey }

    /// `method` `base` + `path` with a JSON `body`, on a kept-alive connection to the peer;
    /// throws `ReplicationError.io` when the peer cannot be reached or the connection breaks.
    public func call(
        _ method: HTTPMethod, _ base: String, _ path: String, body: [UInt8]?, headers: [(String, String)] = []
    ) async throws -> Answer {
        let address = try LeaderAddress(base)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: address.prefix + path)
        head.headers.add(name: "Host", value: address.hostHeader)
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(body.count))
        } else if method == .POST || method == .PUT {
            head.headers.add(name: "Content-Length", value: "0")
        }
        if let apiKey { head.headers.add(name: "api-key", value: apiKey) }
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        let answer = try await PeerConnections.shared.exchange(
            address, head: head, body: body, readTimeout: Self.readTimeout, maxAnswerBytes: Self.maxAnswerBytes, peer: "node at \(address.url)")
        return Answer(
            status: Int(answer.head.status.code), body: answer.body, location: answer.head.headers.first(name: "Location"),
            leaderEpoch: answer.head.headers.first(name: "hsdb-leader-epoch"))
    }
}
