import Foundation
import HSDBCore
import IPLD
import NIOCore

extension ReplicationFollower {
    /// Blocks asked for in one request when a bootstrap resumes (about 250 KB of JSON).
    static let blocksPerRequest = 4096

    /// Receives the offer's snapshot as its Merkle DAG (DESIGN.md, "Bootstrap snapshots as
    /// DAGs") into `<incoming>/<collection>/`: the whole CAR when nothing of an earlier
    /// attempt is there; else the root and the DAG-PB nodes, then only the blocks the part
    /// files do not already hold. Returns the files (name, path), synced.
    func receiveDAG(_ offer: SnapshotOffer, root: CID, for name: String) async throws -> [(name: String, path: String)] {
        let directory = incomingDirectory + "/" + name
        let receiver = SnapshotReceiver(collection: name, offer: offer, root: root, directory: directory)
        let base = "/replication/dags/\(LeaderClient.segment(offer.name))"
        let earlier = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        guard !earlier.isEmpty else {  // a cut attempt's parts, or segments a repair kept
            try await stream(leader.request(.GET, base), into: receiver, for: name)
            return try receiver.finish()
        }
        try await stream(leader.request(.GET, base + "?leaves=false"), into: receiver, for: name)
        let kept = try receiver.keepHeld()
        let missing = receiver.missing
        logger.info("replication: resuming the snapshot of '\(name)': \(kept) bytes already held, \(missing.count) blocks to fetch")
        for start in stride(from: 0, to: missing.count, by: Self.blocksPerRequest) {
            let batch = missing[start..<min(start + Self.blocksPerRequest, missing.count)]
            let body = JSONValue.object(["cids": .array(batch.map { .string($0.text) })]).description
            try await stream(leader.request(.POST, base + "/blocks", json: Array(body.utf8)), into: receiver, for: name)
        }
        return try receiver.finish()
    }

    /// One CAR answer from the leader, each section handed to the receiver as it completes.
    private func stream(_ request: LeaderClient.Request, into receiver: SnapshotReceiver, for name: String) async throws {
        try await leader.send(request, collection: name) { response in
            var parser = CARStreamParser(name: "snapshot \(receiver.offer.name) from \(leader.base)")
            while let chunk = try await response.next() {
                try Task.checkCancellation()
                try receiver.take(try chunk.withUnsafeReadableBytes { try parser.push($0) })
                update(name) { $0.snapshotBytesFetched += Int64(chunk.readableBytes) }
            }
            try parser.finish()
            guard parser.header?.roots == [receiver.rootCID] else {
                throw ReplicationError.badFrame("the snapshot CAR's root is not \(receiver.rootCID)")
            }
        }
    }
}
