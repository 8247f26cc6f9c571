import Foundation
import HSDB
import HSDBCore

/// Anti-entropy for one collection of a follower: its state tree against its leader's at one
/// LSN; where they differ, the leader's points fetched and set right in place
/// (`Collection.repair`), verified against the leader's leaves. DESIGN.md, "Anti-entropy repair".
public struct ReplicaRepair: Sendable {
    public enum Outcome: Sendable {
        /// Equal at this LSN.
        case equal(lsn: UInt64)
        /// Differed at `lsn`; what was found and what the repair did.
        case repaired(lsn: UInt64, found: StateTreeDifferences, result: PointRepairResult)
        /// The two did not stand at one LSN before the deadline (the leader keeps writing, or
        /// this copy is behind): nothing compared.
        case notAligned(leader: UInt64, local: UInt64)
    }

    let leader: LeaderClient
    let collection: Collection
    let timeout: Duration

    public init(leaderURL: String, apiKey: String?, collection: Collection, timeout: Duration = .seconds(10)) throws {
        self.init(client: try LeaderClient(leader: leaderURL, apiKey: apiKey), collection: collection, timeout: timeout)
    }

    init(client: LeaderClient, collection: Collection, timeout: Duration) {
        leader = client
        self.collection = collection
        self.timeout = timeout
    }

    public func run() async throws -> Outcome {
        let (remote, local) = try await rootsAtOneLSN()
        guard remote.lsn == local.lsn else { return .notAligned(leader: remote.lsn, local: local.lsn) }
        if remote.root == local.tree.root { return .equal(lsn: local.lsn) }
        let found = try await StateTreeComparison.locate(
            RemoteStateTree(client: leader, collection: collection.name, lsn: remote.lsn), LocalStateTree(local.tree, lsn: local.lsn))
        let result = try await collection.repair(try await Self.plan(found, fetch: fetch))
        return .repaired(lsn: local.lsn, found: found, result: result)
    }

    /// The leader's root and this copy's tree, at one LSN if that happens before the deadline
    /// (else the last of each).
    private func rootsAtOneLSN() async throws -> (StateTreeAnswer, CollectionTree) {
        let name = collection.name
        if let pair = try await OneLSN.align(
            within: timeout, poll: .milliseconds(50),
            leader: { try await RemoteStateTree.root(leader, name) }, leaderLSN: \.lsn,
            other: { collection.stateTree() }, otherLSN: \.lsn)
        {
            return pair
        }
        return (try await RemoteStateTree.root(leader, name), collection.stateTree())
    }

    /// What to set right: the leader's points at the versions its tree named (a point the
    /// leader has written since is left for the next round), and the points only here.
    static func plan(
        _ found: StateTreeDifferences, fetch: ([PointID]) async throws -> [(point: Point, version: UInt64)]
    ) async throws -> PointRepair {
        var repair = PointRepair()
        var wanted: [PointID: UInt64] = [:]
        for leaf in found.onlyFirst { wanted[try Self.id(leaf.id)] = leaf.version }
        for c in found.changed {
            let id = try Self.id(c.id)
            wanted[id] = c.first
            repair.expected[id] = c.second
        }
        for leaf in found.onlySecond {
            let id = try Self.id(leaf.id)
            repair.removed.append(id)
            repair.expected[id] = leaf.version
        }
        guard !wanted.isEmpty else { return repair }
        let fetched = try await fetch(Array(wanted.keys))
        repair.points = fetched.filter { wanted[$0.point.id] == $0.version }
        return repair
    }

    private func fetch(_ ids: [PointID]) async throws -> [(point: Point, version: UInt64)] {
        let body = JSONValue.object(["ids": .array(ids.map(\.json))]).description
        let path = "/replication/collections/\(LeaderClient.segment(collection.name))/points"
        let bytes = try await leader.send(leader.request(.POST, path, json: Array(body.utf8))) { try await $0.collect(upTo: 1 << 30) }
        let config = collection.config
        return try RepairPointsCodec.decode(
            Array(buffer: bytes), source: "\(leader.base)\(path)", lanes: config.namedVectors, dimension: config.dimension)
    }

    static func id(_ text: String) throws -> PointID {
        if let n = UInt64(text) { return .integer(n) }
        if let u = PointID(uuidString: text) { return u }
        throw ReplicationError.leader(status: 200, message: "'\(text)' is not a point id")
    }
}

extension PointID {
    /// As Qdrant's REST API writes an id: a number, or a UUID string.
    var json: JSONValue {
        switch self {
        case .integer(let n): return .int(Int64(bitPattern: n))
        case .uuid: return .string(description)
        }
    }
}
