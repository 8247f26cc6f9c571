import HSDB
import HSDBCore

/// A server's state tree, pinned at `lsn` by a first `GET .../tree`, asked over HTTP.
struct RemoteStateTree: StateTreeSource {
    let client: LeaderClient
    let collection: String
    let lsn: UInt64

    static func path(_ collection: String) -> String { "/replication/collections/\(LeaderClient.segment(collection))/tree" }

    /// The server's tree root now, which it then holds for later questions at that LSN.
    static func root(_ client: LeaderClient, _ collection: String) async throws -> StateTreeAnswer {
        try StateTreeAnswer.decode(try await client.json(client.request(.GET, path(collection))))
    }

    func children(level: Int, of nodes: [Int]) async throws -> StateTreeAnswer {
        let query = "?lsn=\(lsn)&level=\(level)&nodes=\(StateTreeNodeSet.encode(nodes, level: level))"
        let answer = try StateTreeAnswer.decode(try await client.json(client.request(.GET, Self.path(collection) + query)))
        guard answer.lsn == lsn else {
            throw ReplicationError.leader(status: 200, message: "\(client.base) answered for LSN \(answer.lsn), not \(lsn)")
        }
        return answer
    }
}
