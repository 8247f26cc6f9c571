import NIOCore
import NIOHTTP1

/// A node's calls to another node's REST API on a shard's behalf (a part of a write sent to
/// its shard's leader, a search sent to one copy of each shard): one HTTP/1.1 connection per
/// call, as the follower's calls, answered with whatever status the peer gives.
public struct PeerClient: Sendable {
    public struct Answer: Sendable {
        public var status: Int
        public var body: ByteBuffer
        /// A redirect's target (`Location`), as a follower's copy of a shard answers a write.
        public var location: String?
        /// `hsdb-leader-epoch`: the copy's leader vouched for this read (DESIGN.md, "Clients and writes").
        public var leaderEpoch: String?
    }

    /// How long a peer may stay silent while it works on a call (a big search).
    public static let readTimeout: TimeAmount = .seconds(60)
    static let maxAnswerBytes = 256 << 20

    let apiKey: String?

    public init(apiKey: String?) { self.apiKey = apiKey }

    /// `method` `base` + `path` with a JSON `body`; throws `ReplicationError.io` when the peer
    /// cannot be reached or the connection breaks.
    public func call(
        _ method: HTTPMethod, _ base: String, _ path: String, body: [UInt8]?, headers: [(String, String)] = []
    ) async throws -> Answer {
        var client = try LeaderClient(leader: base, apiKey: apiKey, peer: "node")
        client.short = true
        let request = client.request(method, path, headers: headers, readTimeout: Self.readTimeout, json: body)
        return try await client.send(request, accepting: Set(100...599)) { response in
            let body = try await response.collect(upTo: Self.maxAnswerBytes)
            return Answer(
                status: Int(response.status), body: body, location: response.headers.first(name: "Location"),
                leaderEpoch: response.headers.first(name: "hsdb-leader-epoch"))
        }
    }
}
