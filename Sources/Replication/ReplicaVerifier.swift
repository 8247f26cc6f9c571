import Foundation
import HSDBCore

/// `hsdb replica verify`: compares every collection of a leader with a follower's copy by
/// their state digests at the same LSN, waiting (up to a deadline) for the follower to reach
/// the leader's LSN. Differing roots are narrowed to buckets and then to point ids.
public struct ReplicaVerifier: Sendable {
    public struct Difference: Sendable, CustomStringConvertible {
        public let collection: String
        public let reason: String
        public var description: String { "collection '\(collection)': \(reason)" }
    }

    public struct Report: Sendable {
        /// Per collection checked equal: its LSN and root (hex).
        public var equal: [(collection: String, lsn: UInt64, points: Int, root: String)] = []
        public var differences: [Difference] = []
    }

    /// Buckets whose ids are listed when roots differ (each costs a digest on both sides).
    static let bucketsExplained = 8

    let leader: LeaderClient
    let follower: LeaderClient
    let timeout: Duration
    /// Compare content digests (every vector and payload read on both sides) rather than the
    /// kept (id, version) digests.
    let content: Bool

    public init(
        leaderURL: String, followerURL: String, apiKey: String?, followerAPIKey: String?, timeout: Duration, content: Bool = false
    ) throws {
        leader = try LeaderClient(leader: leaderURL, apiKey: apiKey)
        follower = try LeaderClient(leader: followerURL, apiKey: followerAPIKey ?? apiKey)
        self.timeout = timeout
        self.content = content
    }

    public func run() async throws -> Report {
        let catalog = try ReplicationCatalog.decode(try await leader.json(leader.request(.GET, "/replication/collections")))
        let theirs = try await collectionNames(follower)
        var report = Report()
        let mine = Set(catalog.collections.map(\.name))
        for name in theirs.subtracting(mine).sorted() {
            report.differences.append(Difference(collection: name, reason: "on the follower only"))
        }
        for entry in catalog.collections {
            guard theirs.contains(entry.name) else {
                report.differences.append(Difference(collection: entry.name, reason: "missing on the follower"))
                continue
            }
            let (l, f) = try await digestsAtOneLSN(entry.name)
            guard let l, let f else {
                report.differences.append(Difference(
                    collection: entry.name, reason: "the follower did not reach the leader's LSN within \(timeout) (it is behind, or the leader keeps writing)"))
                continue
            }
            if l.root == f.root {
                report.equal.append((entry.name, l.lsn, l.points, StateDigest.hex(l.root)))
            } else {
                report.differences.append(Difference(collection: entry.name, reason: try await explain(entry.name, l, f)))
            }
        }
        return report
    }

    private func collectionNames(_ side: LeaderClient) async throws -> Set<String> {
        guard case .object(let o) = try await side.json(side.request(.GET, "/collections")), case .array(let list)? = o["collections"] else {
            throw ReplicationError.leader(status: 200, message: "\(side.base)/collections has no collection list")
        }
        return Set(list.compactMap { item in
            guard case .object(let c) = item, case .string(let n)? = c["name"] else { return nil }
            return n
        })
    }

    private func digest(_ side: LeaderClient, _ name: String, bucket: Int? = nil) async throws -> StateDigest {
        var path = "/replication/collections/\(LeaderClient.segment(name))/digest"
        var query = content ? ["content=true"] : []
        if let bucket { query.append("bucket=\(bucket)") }
        if !query.isEmpty { path += "?" + query.joined(separator: "&") }
        return try StateDigest.decode(try await side.json(side.request(.GET, path)))
    }

    /// Both digests at one LSN, or nils when that did not happen before the deadline.
    private func digestsAtOneLSN(_ name: String) async throws -> (StateDigest?, StateDigest?) {
        let deadline = ContinuousClock.now + timeout
        var l = try await digest(leader, name)
        while ContinuousClock.now < deadline {
            let f = try await digest(follower, name)
            if f.lsn == l.lsn { return (l, f) }
            if f.lsn > l.lsn {
                l = try await digest(leader, name)  // the leader moved on
            } else {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        return (nil, nil)
    }

    private func explain(_ name: String, _ l: StateDigest, _ f: StateDigest) async throws -> String {
        let differing = (0..<StateDigest.bucketCount).filter { l.buckets[$0] != f.buckets[$0] }
        var parts = ["roots differ at LSN \(l.lsn) (leader \(l.points) points, follower \(f.points)); \(differing.count) bucket(s) differ: \(differing.prefix(32).map(String.init).joined(separator: ", "))"]
        for bucket in differing.prefix(Self.bucketsExplained) {
            let (lb, fb) = (try await digest(leader, name, bucket: bucket), try await digest(follower, name, bucket: bucket))
            guard lb.lsn == fb.lsn else { continue }
            let mine = Dictionary((lb.leaves ?? []).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let theirs = Dictionary((fb.leaves ?? []).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            var ids: [String] = []
            for id in Set(mine.keys).union(theirs.keys).sorted() {
                switch (mine[id], theirs[id]) {
                case (let a?, nil): ids.append("\(id) (only on the leader, version \(a.version))")
                case (nil, let b?): ids.append("\(id) (only on the follower, version \(b.version))")
                case (let a?, let b?) where a.hash != b.hash: ids.append("\(id) (differs: version \(a.version) on the leader, \(b.version) on the follower)")
                default: break
                }
            }
            parts.append("bucket \(bucket): " + (ids.isEmpty ? "moved on before it could be listed" : ids.joined(separator: "; ")))
        }
        return parts.joined(separator: "\n  ")
    }
}
