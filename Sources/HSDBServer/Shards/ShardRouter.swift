import Foundation
import HSDBCore
import Logging
import NIOCore
import NIOHTTP1
import Replication
import Synchronization

/// Sends a sharded collection's requests to its shards' copies (DESIGN.md, "Shards: routing"):
/// a write's part to its shard's leader, a read to the leader when known, else to any copy.
/// Every call carries the map's revision, so a node with an older map reads it first.
final class ShardRouter: Sendable {
    /// How long a write waits for a shard without a leader (an election under way) to get one.
    let electionWait: Duration
    static let retryInterval: Duration = .milliseconds(100)

    let groups: ShardGroups
    let peers: PeerClient
    let logger: Logger
    /// The last leader seen per shard copy ("uid/k" -> base URL of its copy).
    private let leaders = Mutex<[String: String]>([:])
    private let members = Mutex<[String: ClusterMember]>([:])

    init(groups: ShardGroups, apiKey: String?, leaseTTL: Duration, logger: Logger) {
        self.groups = groups
        peers = PeerClient(apiKey: apiKey)
        electionWait = leaseTTL * 2 + .seconds(2)
        self.logger = logger
    }

    struct Failure: Error {
        let error: APIError
    }

    // MARK: Addresses

    /// The base URL of `node`'s copy of `shard`, from the members' advertised URLs.
    func copyURL(_ node: String, _ map: ShardMap, _ shard: Int) async -> String? {
        if members.withLock({ $0[node] }) == nil, let read = try? await groups.store.members() {
            members.withLock { m in for member in read { m[member.name] = member } }
        }
        return members.withLock { $0[node] }.map { $0.advertise + ClusterSettings.groupPath(uid: map.uid, shard: shard) }
    }

    func member(_ node: String) -> ClusterMember? { members.withLock { $0[node] } }

    /// Copies to try, the known leader first.
    private func candidates(_ map: ShardMap, _ shard: Int, readLeader: Bool) async -> [String] {
        let key = ShardGroups.key(map.uid, shard)
        var urls: [String] = []
        if readLeader, leaders.withLock({ $0[key] }) == nil, let leader = try? await groups.store.leader(of: map, shard: shard) {
            leaders.withLock { $0[key] = leader.advertise }
        }
        if let known = leaders.withLock({ $0[key] }) { urls.append(known) }
        for node in map.shards[shard].replicas {
            if let url = await copyURL(node, map, shard), !urls.contains(url) { urls.append(url) }
        }
        return urls
    }

    private func remember(_ map: ShardMap, _ shard: Int, leader url: String?) {
        leaders.withLock { $0[ShardGroups.key(map.uid, shard)] = url }
    }

    // MARK: Calls

    /// A write's part: to the shard's leader, following a follower's redirect, waiting out an
    /// election (a shard without a leader refuses before writing, so a retry is safe).
    func write(_ map: ShardMap, _ shard: Int, _ method: HTTPMethod, _ path: String, _ body: [UInt8]?) async throws -> PeerClient.Answer {
        let deadline = ContinuousClock.now + electionWait
        var tried: [String] = []
        while true {
            for url in await candidates(map, shard, readLeader: true) {
                guard var answer = try? await call(map, url, method, path, body) else { tried.append(url); continue }
                var base = url
                if answer.status == 307, let location = answer.location, location.hasSuffix(path) {
                    base = String(location.dropLast(path.count))
                    guard let redirected = try? await call(map, base, method, path, body) else { tried.append(base); continue }
                    answer = redirected
                }
                if Self.noCopyHere(answer) || answer.status == 307 { continue }
                // Refused before anything was written: an election, or a leader handing over.
                if answer.status == 503, Self.refusedBeforeWriting(Self.message(answer)) { break }
                if answer.status < 300 { remember(map, shard, leader: base) }
                return answer
            }
            remember(map, shard, leader: nil)
            guard ContinuousClock.now < deadline else {
                throw APIError(
                    status: .serviceUnavailable,
                    message: "Service unavailable: shard \(shard) of collection '\(map.name)' has no leader reachable "
                        + "(tried \(Set(tried).sorted().joined(separator: ", ")))")
            }
            try await Task.sleep(for: Self.retryInterval)
        }
    }

    /// A read: the shard's leader when it answers, else any copy.
    func read(_ map: ShardMap, _ shard: Int, _ method: HTTPMethod, _ path: String, _ body: [UInt8]?) async throws -> PeerClient.Answer {
        var tried: [String] = []
        let own = await copyURL(groups.nodeName, map, shard)
        for url in await candidates(map, shard, readLeader: true) {
            let local = url == own ? groups.group(uid: map.uid, shard: shard) : nil
            let answer = if let local, let context = LocalShardCall.context {
                try? await LocalShardCall.answer(local, method, path, body: body, revision: map.revision, context: context)
            } else {
                try? await call(map, url, method, path, body)
            }
            guard let answer, !Self.noCopyHere(answer) else {
                tried.append(url)
                if tried.count == 1 { remember(map, shard, leader: nil) }
                continue
            }
            // A copy that answers but does not vouch for the read as its shard's leader may no
            // longer lead: the next read asks etcd again.
            if answer.leaderEpoch == nil, tried.isEmpty { remember(map, shard, leader: nil) }
            return answer
        }
        throw APIError(
            status: .serviceUnavailable,
            message: "Service unavailable: shard \(shard) of collection '\(map.name)' has no copy reachable (tried \(tried.joined(separator: ", ")))")
    }

    private func call(
        _ map: ShardMap, _ base: String, _ method: HTTPMethod, _ path: String, _ body: [UInt8]?
    ) async throws -> PeerClient.Answer {
        try await peers.call(method, base, path, body: body, headers: [("hsdb-shard-map-revision", String(map.revision))])
    }

    /// A 503 a shard's copy gives before writing anything (an election, a handover).
    static func refusedBeforeWriting(_ message: String) -> Bool {
        message.contains("no leader") || message.contains("was not applied")
    }

    static func noCopyHere(_ answer: PeerClient.Answer) -> Bool {
        answer.status == 409 && message(answer).contains("holds no copy of shard")
    }

    /// The error message of a Qdrant envelope, or the body's text.
    static func message(_ answer: PeerClient.Answer) -> String {
        let value = try? answer.body.withUnsafeReadableBytes { try JSONParser.parse($0) }
        if case .object(let top)? = value, case .object(let status)? = top["status"], case .string(let error)? = status["error"] { return error }
        return String(buffer: answer.body)
    }

    /// The answer's `result`, or the peer's error as this node answers it.
    static func result(_ answer: PeerClient.Answer) throws -> JSONValue {
        guard (200..<300).contains(answer.status) else {
            throw APIError(status: .init(code: answer.status), message: message(answer))
        }
        let value = try answer.body.withUnsafeReadableBytes { try JSONParser.parse($0) }
        guard case .object(let top) = value, let result = top["result"] else {
            throw APIError(status: .badGateway, message: "Bad gateway: a shard's copy answered without a result")
        }
        return result
    }
}
