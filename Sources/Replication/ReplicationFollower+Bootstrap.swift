import Crypto
import Foundation
import HSDB
import HSDBCore
import IPLD

extension ReplicationFollower {
    /// Replaces this copy of `name` with a snapshot the leader prepares: asks for one, fetches
    /// each of its files (keeping every file an earlier attempt verified, resuming a partial
    /// one), checks each file's size and SHA-256, lays them out as a collection and installs
    /// it (which opens and checks it), and starts the chain at the snapshot's LSN and hash.
    /// A crash at any point leaves the old copy or the new one, and at worst another bootstrap.
    func bootstrap(_ name: String) async throws {
        update(name) { $0.state = .bootstrapping; $0.bootstraps += 1 }
        await reportDivergence(name)
        let path = "/replication/collections/\(LeaderClient.segment(name))/snapshot?follower=\(nodeID)"
        // The leader may flush the collection before it answers: give it time.
        let prepare = leader.request(.POST, path, readTimeout: LeaderClient.preparationTimeout)
        let offer = try Self.decodeOffer(try await leader.json(prepare, collection: name))
        let started = ContinuousClock.now
        let files: [(name: String, path: String)]
        if let root = offer.root {
            files = try await receiveDAG(offer, root: root, for: name)
        } else {  // a leader older than snapshot DAGs: each file whole, checked by its SHA-256
            let incoming = try prepareIncoming(name, for: offer)
            for file in offer.files { try await fetch(file, of: offer, into: incoming, for: name) }
            files = offer.files.map { ($0.name, incoming + "/" + $0.sha256) }
        }
        let received = ContinuousClock.now
        let staged = try db.makeStagingDirectory()
        do {
            try Self.layOut(files, lsn: offer.lsn, into: staged)
        } catch {
            try? FileManager.default.removeItem(atPath: staged)
            throw error
        }
        try await db.installCollection(name, from: staged)
        try await LogChain.anchorRestored(try db.collection(name), at: offer.lsn, hash: offer.hash)
        try? FileManager.default.removeItem(atPath: incomingDirectory + "/" + name)
        update(name) { $0.appliedLSN = offer.lsn }
        let (fetch, install) = (received - started, ContinuousClock.now - received)
        logger.info("replication: '\(name)' restored from the leader's snapshot at LSN \(offer.lsn) (\(offer.bytes) bytes in \(offer.files.count) files; received in \(fetch), installed in \(install))")
    }

    static func decodeOffer(_ value: JSONValue) throws -> SnapshotOffer {
        let malformed = ReplicationError.leader(status: 200, message: "malformed snapshot offer")
        guard case .object(let o) = value, case .string(let name)? = o["name"], case .int(let lsn)? = o["lsn"],
            case .string(let hashHex)? = o["hash"], let hash = LogHash(hex: hashHex), case .array(let list)? = o["files"], lsn >= 0,
            isPlainName(name)
        else { throw malformed }
        let files = try list.map { item -> SnapshotOffer.File in
            guard case .object(let f) = item, case .string(let n)? = f["name"], case .int(let bytes)? = f["bytes"],
                case .string(let sha)? = f["sha256"], bytes >= 0, sha.count == 64, sha.allSatisfy(\.isHexDigit),
                [DatabaseLayout.metadataFileName, DatabaseLayout.manifestFileName,
                 DatabaseLayout.segmentFileName(contentID: sha.lowercased())].contains(n)
            else { throw malformed }
            return SnapshotOffer.File(name: n, bytes: Int(bytes), sha256: sha.lowercased())
        }
        guard files.contains(where: { $0.name == DatabaseLayout.metadataFileName }) else { throw malformed }
        var offer = SnapshotOffer(name: name, lsn: UInt64(lsn), hash: hash, files: files)
        if let rootValue = o["root"] {
            guard case .string(let text) = rootValue, let root = try? CID(text: text), root.codec == .dagCBOR else { throw malformed }
            offer.root = root
            if case .int(let blocks)? = o["blocks"] { offer.blocks = Int(blocks) }
        }
        return offer
    }

    private static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && !name.hasPrefix(".")
    }

    /// `<data>/replication/incoming/<collection>/`, holding only what this offer can use:
    /// verified files are named by their SHA-256, a partial one `<sha256>.part`; a segment
    /// an earlier offer brought is kept when this one lists it too (same name, same bytes).
    private func prepareIncoming(_ name: String, for offer: SnapshotOffer) throws -> String {
        let fm = FileManager.default
        let directory = incomingDirectory + "/" + name
        for old in (try? fm.contentsOfDirectory(atPath: incomingDirectory)) ?? [] {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: incomingDirectory + "/" + old, isDirectory: &isDirectory), !isDirectory.boolValue {
                try? fm.removeItem(atPath: incomingDirectory + "/" + old)  // a whole-file snapshot of an older version
            }
        }
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let wanted = Set(offer.files.flatMap { [$0.sha256, $0.sha256 + ".part"] })
        for old in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] where !wanted.contains(old) {
            try? fm.removeItem(atPath: directory + "/" + old)
        }
        return directory
    }

    /// Downloads one file into `<sha256>.part` (continuing what is there), checks its size
    /// and SHA-256, and renames it to `<sha256>`; nothing to do when that is already there.
    private func fetch(_ file: SnapshotOffer.File, of offer: SnapshotOffer, into directory: String, for name: String) async throws {
        let fm = FileManager.default
        let final = directory + "/" + file.sha256
        if let size = (try? fm.attributesOfItem(atPath: final))?[.size] as? NSNumber, size.intValue == file.bytes { return }
        let part = final + ".part"
        if !fm.fileExists(atPath: part) { fm.createFile(atPath: part, contents: nil) }
        guard let handle = FileHandle(forUpdatingAtPath: part) else { throw ReplicationError.io("cannot open \(part)") }
        defer { try? handle.close() }
        var have = Int(try handle.seekToEnd())
        if have > file.bytes {
            try handle.truncate(atOffset: 0)
            have = 0
        }
        if have < file.bytes {
            let headers = have > 0 ? [("Range", "bytes=\(have)-")] : []
            let url = "/replication/snapshots/\(LeaderClient.segment(offer.name))/\(LeaderClient.segment(file.name))"
            have = try await leader.send(leader.request(.GET, url, headers: headers), accepting: [200, 206]) { response in
                var have = have
                if response.status == 200 && have > 0 {
                    try handle.truncate(atOffset: 0)  // the leader sent it whole
                    have = 0
                }
                while let chunk = try await response.next() {
                    try Task.checkCancellation()
                    try handle.write(contentsOf: Data(chunk.readableBytesView))
                    have += chunk.readableBytes
                    update(name) { $0.snapshotBytesFetched += Int64(chunk.readableBytes) }
                }
                return have
            }
            try handle.synchronize()
        }
        guard have == file.bytes else {
            throw ReplicationError.io("snapshot file \(file.name) arrived with \(have) of its \(file.bytes) bytes")
        }
        let digest = try Self.sha256(of: handle)
        guard digest == file.sha256 else {
            try handle.truncate(atOffset: 0)
            throw ReplicationError.badFrame("snapshot file \(file.name) has SHA-256 \(digest), the leader's is \(file.sha256)")
        }
        try fm.moveItem(atPath: part, toPath: final)
        try POSIXFileSystem().syncDirectory(directory)  // the verified name survives a power loss
    }

    /// The verified files as a collection directory in `staged`: metadata, manifest, the
    /// segments (moved, not copied), and a WAL that continues right after the snapshot's LSN.
    private static func layOut(_ files: [(name: String, path: String)], lsn: UInt64, into staged: String) throws {
        let fs = POSIXFileSystem()
        let segments = staged + "/" + DatabaseLayout.segmentsDirectoryName
        let wal = staged + "/" + DatabaseLayout.walDirectoryName
        try fs.createDirectory(segments)
        try fs.createDirectory(wal)
        for file in files {
            let inSegments = file.name.hasSuffix(".seg")
            try fs.rename(file.path, to: (inSegments ? segments : staged) + "/" + file.name)
        }
        let walFile = try fs.open(wal + "/" + DatabaseLayout.walFileName(firstLSN: lsn + 1), mode: .createNew)
        defer { try? walFile.close() }
        try DatabaseLayout.walFileHeader(firstLSN: lsn + 1).withUnsafeBytes { try walFile.write($0, at: 0) }
        try walFile.sync()
        for d in [segments, wal, staged] { try fs.syncDirectory(d) }
    }

    static func sha256(of handle: FileHandle) throws -> String {
        try handle.seek(toOffset: 0)
        var sha = SHA256()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { sha.update(data: chunk) }
        return sha.finalize().lowercaseHex
    }
}
