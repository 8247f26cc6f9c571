import Foundation
import HSDB
import HSDBCore
import Logging
import Synchronization

/// The follower's side: it copies the leader's catalogue (collections, configs, payload
/// indexes) and, per collection, streams the leader's log from its own position, checking
/// every record's LSN and running hash before it applies it at the leader's LSN. When its
/// position is not in the leader's log (new, diverged, or fallen behind what the leader
/// keeps) it bootstraps from a snapshot. It tells the leader what it made durable, which is
/// what the leader keeps its log for.
public final class ReplicationFollower: Sendable {
    /// How often the catalogue is fetched (new, dropped and changed collections).
    static let catalogInterval: Duration = .seconds(1)
    /// How often the follower's own chain anchor follows its tip (its log is kept after it).
    static let anchorInterval: Duration = .seconds(10)

    let db: Database
    let node: NodeState
    let logger: Logger
    let leader: LeaderClient
    let incomingDirectory: String
    let statuses = Mutex<[String: FollowerCollectionStatus]>([:])
    let leaderEpoch = Atomic<UInt64>(0)
    let catalogError = Mutex<String?>(nil)
    /// Collections set aside at open as damaged: fetched again by a bootstrap first (which
    /// reuses their intact segments, `QuarantineRepair`), not streamed from LSN 0.
    let pendingRepairs: Mutex<Set<String>>

    /// Told of each higher leader epoch seen (the node persists it: a promotion must go past it).
    let epochSeenChanged: @Sendable (UInt64) -> Void
    /// How often caught-up collections are compared with the leader's (nil: never on its own).
    let antiEntropyInterval: Duration?

    public init(
        db: Database, leaderURL: String, apiKey: String?, node: NodeState, logger: Logger,
        antiEntropyInterval: Duration? = .seconds(300), epochSeenChanged: @escaping @Sendable (UInt64) -> Void = { _ in }
    ) throws {
        self.epochSeenChanged = epochSeenChanged
        self.antiEntropyInterval = antiEntropyInterval
        self.db = db
        self.node = node
        self.logger = logger
        leader = try LeaderClient(leader: leaderURL, apiKey: apiKey)
        incomingDirectory = db.path + "/" + NodeState.directoryName + "/incoming"
        pendingRepairs = Mutex(Set(db.quarantined.map(\.name)))
        leaderEpoch.store(node.epoch, ordering: .relaxed)
    }

    public var leaderURL: String { leader.base }

    /// Follows the leader until the task is cancelled, then closes its connections.
    public func run() async {
        var tasks: [String: Task<Void, Never>] = [:]
        let antiEntropy = antiEntropyInterval.map { every in Task { await self.antiEntropyLoop(every: every) } }
        defer { antiEntropy?.cancel() }
        var reportedCatalogError = false
        while !Task.isCancelled {
            do {
                let catalog = try ReplicationCatalog.decode(try await leader.json(leader.request(.GET, "/replication/collections")))
                catalogError.withLock { $0 = nil }
                reportedCatalogError = false
                try await reconcile(catalog, tasks: &tasks)
            } catch is CancellationError {
                break
            } catch {
                catalogError.withLock { $0 = "\(error)" }
                if !reportedCatalogError { logger.warning("replication: cannot read the leader's catalogue: \(error) (retrying)") }
                reportedCatalogError = true
            }
            try? await Task.sleep(for: Self.catalogInterval)
        }
        for task in tasks.values { task.cancel() }
        for task in tasks.values { await task.value }
    }

    /// Makes the local collections those of the catalogue and starts following each.
    private func reconcile(_ catalog: ReplicationCatalog, tasks: inout [String: Task<Void, Never>]) async throws {
        let seen = leaderEpoch.load(ordering: .relaxed)
        guard catalog.epoch >= seen else {
            throw ReplicationError.leader(
                status: 200, message: "it leads epoch \(catalog.epoch), but epoch \(seen) has been seen: it was replaced (not followed)")
        }
        saw(epoch: catalog.epoch)
        let wanted = Dictionary(catalog.collections.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let local = Dictionary(try db.listCollections().map { ($0.name, $0.config) }, uniquingKeysWith: { a, _ in a })
        for (name, _) in local where wanted[name] == nil {
            await stopFollowing(name, tasks: &tasks)
            logger.info("replication: the leader has no collection '\(name)' any more: dropping it here")
            try await db.dropCollection(name)
        }
        for entry in catalog.collections {
            if let config = local[entry.name], config != entry.config {
                if config.shape == entry.config.shape {  // only settings changed (HNSW, strict mode, ...): applied in place
                    let wanted = entry.config
                    try await db.collection(entry.name).updateSettings { $0 = wanted }
                } else {
                    await stopFollowing(entry.name, tasks: &tasks)
                    logger.info("replication: collection '\(entry.name)' was recreated on the leader with another configuration: recreating it here")
                    try await db.dropCollection(entry.name)
                }
            }
            let collection = try await db.collection(entry.name, creatingWith: entry.config)
            try await syncPayloadIndexes(collection, to: entry.payloadIndexes)
            if tasks[entry.name] == nil {
                statuses.withLock { $0[entry.name] = $0[entry.name] ?? FollowerCollectionStatus(collection: entry.name) }
                let name = entry.name
                tasks[name] = Task { await self.follow(name) }
            }
        }
    }

    private func stopFollowing(_ name: String, tasks: inout [String: Task<Void, Never>]) async {
        guard let task = tasks.removeValue(forKey: name) else { return }
        task.cancel()
        await task.value
        statuses.withLock { _ = $0.removeValue(forKey: name) }
    }

    private func syncPayloadIndexes(_ collection: Collection, to wanted: [String: PayloadIndexType]) async throws {
        let have = collection.payloadIndexes
        for (key, type) in wanted where have[key] != type { try await collection.createPayloadIndex(key, type: type) }
        for key in have.keys where wanted[key] == nil { try await collection.deletePayloadIndex(key) }
    }

    // MARK: One collection

    /// Streams one collection until cancelled: reconnects after errors (with backoff), and
    /// bootstraps when the leader says this position is not in its log.
    private func follow(_ name: String) async {
        var backoff: Duration = .milliseconds(100)
        var reported: String?
        if pendingRepairs.withLock({ $0.remove(name) }) != nil {
            do {
                logger.info("replication: '\(name)' was damaged here: repairing it from the leader's snapshot")
                try await bootstrap(name)
                for q in db.quarantined where q.name == name {
                    try? FileManager.default.removeItem(atPath: q.directory)
                    logger.notice("replication: '\(name)' is repaired; its damaged copy (\(q.directory)) is removed")
                }
            } catch {
                note(name, error: error, reported: &reported)  // the loop below bootstraps again if it must
            }
        }
        while !Task.isCancelled {
            do {
                try await streamOnce(name)
                backoff = .milliseconds(100)
            } catch is CancellationError {
                break
            } catch ReplicationError.bootstrapNeeded(_, let reason) {
                logger.info("replication: '\(name)' bootstraps from a snapshot: \(reason)")
                do {
                    try await bootstrap(name)
                    backoff = .milliseconds(100)
                    continue
                } catch is CancellationError {
                    break
                } catch {
                    note(name, error: error, reported: &reported)
                }
            } catch {
                note(name, error: error, reported: &reported)
            }
            update(name) { $0.state = .disconnected }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(2))
        }
    }

    private func note(_ name: String, error: any Error, reported: inout String?) {
        let text = "\(error)"
        update(name) { $0.lastError = text }
        if reported != text { logger.warning("replication: '\(name)': \(text) (retrying)") }
        reported = text
    }

    /// One connection: from this copy's position to whenever the stream ends.
    private func streamOnce(_ name: String) async throws {
        let collection = try db.collection(name)
        let chain = try await LogChain.open(collection)
        var (lsn, hash) = try await chain.extend()
        update(name) { $0.appliedLSN = lsn; $0.streamsOpened += 1 }
        let path = "/replication/collections/\(LeaderClient.segment(name))/wal?after=\(lsn)&hash=\(hash.hex)&follower=\(nodeID)"
        let acks = AckSender()
        let sending = Task { await acks.run { [self] durable, applied in try await acknowledge(name, durable: durable, applied: applied) } }
        defer {
            acks.finish()
            sending.cancel()
        }
        // Two stages: this loop receives, checks and decodes frame N + 1 while a task commits
        // frame N (WAL append and apply, then status and acknowledgement); one commit at a
        // time, in order. A failed commit ends the stream at the next frame.
        let committer = FrameCommitter(follower: self, name: name, collection: collection, chain: chain, acks: acks)
        var pending: Task<Void, any Error>?
        defer { pending?.cancel() }
        try await leader.send(leader.request(.GET, path), collection: name) { response in
            var decoder = ReplicationFrameDecoder()
            while let chunk = try await response.next() {
                try Task.checkCancellation()
                decoder.append(chunk.readableBytesView)
                update(name) { $0.bytesReceived += Int64(chunk.readableBytes) }
                while let frame = try nextFrame(&decoder, name) {
                    let seen = epochSeen
                    guard frame.epoch >= seen else {
                        update(name) { $0.rejectedFrames += 1 }
                        throw ReplicationError.badFrame(
                            "'\(name)': a frame of epoch \(frame.epoch) from a leader replaced by epoch \(seen): refused")
                    }
                    var batch: ReplicatedBatch?
                    if !frame.records.isEmpty {
                        batch = try verify(frame, after: (lsn, hash), to: collection, name: name)
                        (lsn, hash) = (batch!.lastLSN, batch!.hashes.last!)
                    }
                    try await pending?.value
                    if let failure = acks.failure { throw failure }
                    let appliedThrough = lsn
                    pending = Task { try await committer.commit(batch, of: frame, appliedThrough: appliedThrough) }
                }
            }
        }
        try await pending?.value
        throw ReplicationError.io("the leader ended the stream of '\(name)'")
    }

    private func nextFrame(_ decoder: inout ReplicationFrameDecoder, _ name: String) throws -> ReplicationFrame? {
        do {
            return try decoder.next()
        } catch {
            update(name) { $0.rejectedFrames += 1 }
            throw error
        }
    }

    /// Checks a frame's records against this copy's position (consecutive LSNs, each running
    /// hash recomputed) and decodes them; nothing of a frame that fails is applied.
    private func verify(
        _ frame: ReplicationFrame, after position: (UInt64, LogHash), to collection: Collection, name: String
    ) throws -> ReplicatedBatch {
        var (lsn, hash) = position
        var entries: [WALEntry] = []
        var hashes: [LogHash] = []
        entries.reserveCapacity(frame.records.count)
        hashes.reserveCapacity(frame.records.count)
        for r in frame.records {
            guard r.entry.lsn == lsn + 1 else {
                update(name) { $0.rejectedFrames += 1 }
                throw ReplicationError.badFrame("'\(name)': record LSN \(r.entry.lsn) where \(lsn + 1) was next")
            }
            let computed = hash.next(r.entry)
            guard computed == r.hash else {
                update(name) { $0.rejectedFrames += 1 }
                throw ReplicationError.badFrame("'\(name)': the running hash at LSN \(r.entry.lsn) is not the leader's (\(computed) here, \(r.hash) sent)")
            }
            (lsn, hash) = (r.entry.lsn, computed)
            entries.append(r.entry)
            hashes.append(computed)
        }
        return ReplicatedBatch(decoded: try collection.decodeReplicated(entries), hashes: hashes)
    }

    func record(_ frame: ReplicationFrame, name: String, appliedLSN: UInt64) {
        saw(epoch: frame.epoch)
        update(name) { s in
            s.appliedLSN = appliedLSN
            s.leaderLSN = max(frame.leaderDurableLSN, appliedLSN)
            s.leaderCommitTime = frame.leaderCommitTime
            s.lastFrame = Date()
            s.lastError = nil
            if appliedLSN >= frame.leaderDurableLSN {
                s.state = .streaming
                s.behindSince = nil
            } else {
                s.state = .catchingUp
                if s.behindSince == nil { s.behindSince = Date() }
            }
        }
    }

    private func acknowledge(_ name: String, durable: UInt64, applied: UInt64) async throws {
        let path = "/replication/collections/\(LeaderClient.segment(name))/ack?follower=\(nodeID)&durable=\(durable)&applied=\(applied)"
        _ = try await leader.json(leader.request(.POST, path), collection: name)
    }

    var nodeID: String { node.nodeID.uuidString.lowercased() }

    /// Raises the highest leader epoch seen (from a frame, a catalogue, or a newer leader's
    /// fence notice): frames and catalogues of older epochs are refused from then on.
    public func saw(epoch: UInt64) {
        var seen = leaderEpoch.load(ordering: .relaxed)
        while epoch > seen {
            let (done, now) = leaderEpoch.compareExchange(expected: seen, desired: epoch, ordering: .relaxed)
            if done { return epochSeenChanged(epoch) }
            seen = now
        }
    }

    func update(_ name: String, _ change: (inout FollowerCollectionStatus) -> Void) {
        statuses.withLock { all in
            var s = all[name] ?? FollowerCollectionStatus(collection: name)
            change(&s)
            all[name] = s
        }
    }

    // MARK: Status

    public func status() -> [FollowerCollectionStatus] {
        statuses.withLock { Array($0.values) }.sorted { $0.collection < $1.collection }
    }

    /// The leader's epoch as last seen (0 before the first answer).
    public var epochSeen: UInt64 { leaderEpoch.load(ordering: .relaxed) }

    /// Why the catalogue could not be read last time, if it could not.
    public var lastCatalogError: String? { catalogError.withLock { $0 } }
}
