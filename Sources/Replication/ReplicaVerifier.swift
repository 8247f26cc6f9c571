import Foundation
import HSDBCore

/// `hsdb replica verify`: compares every collection of a leader with a follower's copy by
/// their state tree roots at the same LSN, waiting (up to a deadline) for the follower to
/// reach the leader's LSN. Differing roots are narrowed, one level of the trees per round
/// trip, to buckets and then to point ids (`StateTreeComparison`). With `content`, by
/// content digests (every vector and payload read), narrowed to 8 buckets' ids.
public struct ReplicaVerifier: Sendable {
    public struct Difference: Sendable, CustomStringConvertible {
        public let collection: String
        public let reason: String
        /// The points that differ, when the trees were descended.
        public var located: StateTreeDifferences? = nil
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
            if content {
                try await compareContent(entry.name, into: &report)
            } else {
                try await compareTrees(entry.name, into: &report)
            }
        }
        return report
    }

    private func compareTrees(_ name: String, into report: inout Report) async throws {
        guard let (l, f) = try await rootsAtOneLSN(name) else {
            report.differences.append(Difference(collection: name, reason: behind))
            return
        }
        if l.root == f.root {
            report.equal.append((name, l.lsn, l.points, StateDigest.hex(l.root)))
            return
        }
        let found = try await StateTreeComparison.locate(
            RemoteStateTree(client: leader, collection: name, lsn: l.lsn), RemoteStateTree(client: follower, collection: name, lsn: l.lsn))
        var d = Difference(collection: name, reason: Self.describe(found, l, f))
        d.located = found
        report.differences.append(d)
    }

    private var behind: String {
        "the follower did not reach the leader's LSN within \(timeout) (it is behind, or the leader keeps writing)"
    }

    /// Both roots at one LSN (each side then holds its tree there), or nil when that did not
    /// happen before the deadline.
    private func rootsAtOneLSN(_ name: String) async throws -> (StateTreeAnswer, StateTreeAnswer)? {
        try await OneLSN.align(
            within: timeout, poll: .milliseconds(200),
            leader: { try await RemoteStateTree.root(leader, name) }, leaderLSN: \.lsn,
            other: { try await RemoteStateTree.root(follower, name) }, otherLSN: \.lsn)
    }

    /// Listed in full up to this many ids per kind.
    static let idsListed = 32

    static func describe(_ found: StateTreeDifferences, _ l: StateTreeAnswer, _ f: StateTreeAnswer) -> String {
        func listed<T>(_ items: [T], _ text: (T) -> String) -> String {
            items.prefix(idsListed).map(text).joined(separator: ", ") + (items.count > idsListed ? ", ... (\(items.count) in all)" : "")
        }
        var parts = [
            "roots differ at LSN \(l.lsn) (leader \(l.points) points, follower \(f.points)); \(found.buckets.count) bucket(s) "
                + "and \(found.ids.count) point(s) differ, found in \(found.roundTrips + 1) round trips"
        ]
        if !found.onlyFirst.isEmpty { parts.append("only on the leader: " + listed(found.onlyFirst) { "\($0.id) (version \($0.version))" }) }
        if !found.onlySecond.isEmpty { parts.append("only on the follower: " + listed(found.onlySecond) { "\($0.id) (version \($0.version))" }) }
        if !found.changed.isEmpty {
            parts.append("at other versions: " + listed(found.changed) { "\($0.id) (leader \($0.first), follower \($0.second))" })
        }
        return parts.joined(separator: "\n  ")
    }

    private func compareContent(_ name: String, into report: inout Report) async throws {
        guard let (l, f) = try await digestsAtOneLSN(name) else {
            report.differences.append(Difference(collection: name, reason: behind))
            return
        }
        if l.root == f.root {
            report.equal.append((name, l.lsn, l.points, StateDigest.hex(l.root)))
        } else {
            report.differences.append(Difference(collection: name, reason: try await explain(name, l, f)))
        }
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

    /// Both digests at one LSN, or nil when that did not happen before the deadline.
    private func digestsAtOneLSN(_ name: String) async throws -> (StateDigest, StateDigest)? {
        try await OneLSN.align(
            within: timeout, poll: .milliseconds(200),
            leader: { try await digest(leader, name) }, leaderLSN: \.lsn,
            other: { try await digest(follower, name) }, otherLSN: \.lsn)
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
