import Crypto
import Foundation
import HSDB
import HSDBCore

extension ReplicationFollower {
    /// Replaces this copy of `name` with a snapshot the leader prepares: asks for one,
    /// downloads it (resuming a partial download of the same snapshot), checks its size and
    /// SHA-256, restores it (which checks every file in it), and starts the chain at the
    /// snapshot's LSN and hash. A crash at any point leaves the old copy or the new one, and
    /// at worst another bootstrap.
    func bootstrap(_ name: String) async throws {
        update(name) { $0.state = .bootstrapping; $0.bootstraps += 1 }
        await reportDivergence(name)
        let path = "/replication/collections/\(LeaderClient.segment(name))/snapshot?follower=\(nodeID)"
        // The leader writes the snapshot before it answers: give it time.
        let prepare = leader.request(.POST, path, readTimeout: LeaderClient.preparationTimeout)
        let offer = try Self.decodeOffer(try await leader.json(prepare, collection: name))
        let file = try await download(offer)
        try await db.restoreCollection(name, fromSnapshot: file)
        try await LogChain.anchorRestored(try db.collection(name), at: offer.lsn, hash: offer.hash)
        try? FileManager.default.removeItem(atPath: file)
        update(name) { $0.appliedLSN = offer.lsn }
        logger.info("replication: '\(name)' restored from the leader's snapshot at LSN \(offer.lsn) (\(offer.bytes) bytes)")
    }

    static func decodeOffer(_ value: JSONValue) throws -> SnapshotOffer {
        guard case .object(let o) = value, case .string(let name)? = o["name"], case .int(let lsn)? = o["lsn"],
            case .string(let hashHex)? = o["hash"], let hash = LogHash(hex: hashHex),
            case .string(let sha)? = o["sha256"], case .int(let bytes)? = o["bytes"], lsn >= 0, bytes >= 0
        else { throw ReplicationError.leader(status: 200, message: "malformed snapshot offer") }
        return SnapshotOffer(name: name, lsn: UInt64(lsn), hash: hash, sha256: sha, bytes: Int(bytes))
    }

    /// Downloads a snapshot into `<data>/replication/incoming/<name>.part`, continuing from
    /// what an earlier attempt left, and returns the checked file.
    private func download(_ offer: SnapshotOffer) async throws -> String {
        guard !offer.name.contains("/"), !offer.name.hasPrefix(".") else {
            throw ReplicationError.leader(status: 200, message: "snapshot name '\(offer.name)' is not a plain file name")
        }
        let fm = FileManager.default
        try fm.createDirectory(atPath: incomingDirectory, withIntermediateDirectories: true)
        let part = incomingDirectory + "/" + offer.name + ".part"
        for old in (try? fm.contentsOfDirectory(atPath: incomingDirectory)) ?? [] where old != offer.name + ".part" {
            try? fm.removeItem(atPath: incomingDirectory + "/" + old)  // an abandoned older snapshot
        }
        if !fm.fileExists(atPath: part) { fm.createFile(atPath: part, contents: nil) }
        guard let handle = FileHandle(forUpdatingAtPath: part) else { throw ReplicationError.io("cannot open \(part)") }
        defer { try? handle.close() }
        var have = Int(try handle.seekToEnd())
        if have > offer.bytes {
            try handle.truncate(atOffset: 0)
            have = 0
        }
        if have < offer.bytes {
            let headers = have > 0 ? [("Range", "bytes=\(have)-")] : []
            let request = leader.request(.GET, "/replication/snapshots/\(LeaderClient.segment(offer.name))", headers: headers)
            have = try await leader.send(request, accepting: [200, 206]) { response in
                var have = have
                if response.status == 200 && have > 0 {
                    try handle.truncate(atOffset: 0)  // the leader sent it whole
                    have = 0
                }
                while let chunk = try await response.next() {
                    try Task.checkCancellation()
                    try handle.write(contentsOf: Data(chunk.readableBytesView))
                    have += chunk.readableBytes
                }
                return have
            }
            try handle.synchronize()
        }
        guard have == offer.bytes else {
            throw ReplicationError.io("snapshot \(offer.name) arrived with \(have) of its \(offer.bytes) bytes")
        }
        let digest = try Self.sha256(of: handle)
        guard digest == offer.sha256 else {
            try handle.truncate(atOffset: 0)
            throw ReplicationError.badFrame("snapshot \(offer.name) has SHA-256 \(digest), the leader's is \(offer.sha256)")
        }
        return part
    }

    private static func sha256(of handle: FileHandle) throws -> String {
        try handle.seek(toOffset: 0)
        var sha = SHA256()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { sha.update(data: chunk) }
        return sha.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
