import Foundation
import HSDB
import HSDBCore
import IPLD
import Logging
import Synchronization

/// The leader's side: it checks a follower's position against its own running hash, ships
/// its log from there, records what each follower says it made durable (its slot: a WAL pin
/// that survives restarts), and prepares snapshots for followers that must bootstrap.
public final class ReplicationLeader: Sendable {
    public static let slotPrefix = "replica:"
    /// The most record bytes in one frame.
    static let frameBytes = 1 << 20
    /// A stream with nothing to send says so this often (the follower's liveness check).
    public static let heartbeat: Duration = .milliseconds(500)
    /// The most often an acknowledgement rewrites its follower's slot pin (a durable file).
    static let pinInterval: Duration = .seconds(1)

    let db: Database
    /// The leader's term, carried by every frame it ships.
    public let epoch: UInt64
    let logger: Logger
    /// A slot that holds more WAL than this is dropped: its follower bootstraps instead of
    /// filling the leader's disk.
    public let slotMaxBytes: Int64
    private let chains = Mutex<[String: (ObjectIdentifier, LogChain)]>([:])
    private let followers = Mutex<[FollowerKey: FollowerProgress]>([:])
    private let stopping = Atomic<Bool>(false)
    /// Slots dropped for holding too much WAL, since start.
    public let droppedSlots = Atomic<Int>(0)
    /// Followers whose slot was dropped: they get no stream and no slot until they bootstrap.
    private let lost = Mutex<Set<FollowerKey>>([])
    /// The last snapshot prepared per collection (offered again while it is fresh enough);
    /// the newest only, so the mappings it holds keep at most one retired state alive.
    private let offers = Mutex<[String: (id: ObjectIdentifier, offer: SnapshotOffer, prepared: PreparedSnapshot, dag: SnapshotDAG)]>([:])
    /// Writes waiting for followers to make them durable.
    private let copyWaiters = CopyWaiters()

    struct FollowerKey: Hashable, Sendable {
        let node: String
        let collection: String
    }

    public init(db: Database, epoch: UInt64, logger: Logger, slotMaxBytes: Int64 = 1 << 30) {
        self.db = db
        self.epoch = epoch
        self.logger = logger
        self.slotMaxBytes = slotMaxBytes
        // Snapshots were files here before they were served from memory.
        try? POSIXFileSystem().removeTree(db.path + "/" + NodeState.directoryName + "/snapshots")
    }

    /// Ends every stream at its next heartbeat (server shutdown).
    public func stop() { stopping.store(true, ordering: .relaxed) }

    /// The chain of a collection, opened on first use and again when the collection was
    /// replaced (dropped and created, or restored).
    public func chain(_ collection: Collection) async throws -> LogChain {
        let id = ObjectIdentifier(collection)
        if let (known, chain) = chains.withLock({ $0[collection.name] }), known == id { return chain }
        let chain = try await LogChain.open(collection)
        chains.withLock { $0[collection.name] = (id, chain) }
        return chain
    }

    // MARK: Streams

    /// Checks that (`lsn`, `hash`) is a position in this collection's log. Throws
    /// `ReplicationError.bootstrapNeeded` (with the reason) when it is not.
    public func checkPosition(_ collection: Collection, lsn: UInt64, hash: LogHash, node: String? = nil) async throws -> LogChain {
        if let node, isLost(FollowerKey(node: node, collection: collection.name)) {
            throw ReplicationError.bootstrapNeeded(
                collection: collection.name, reason: "the follower's slot was dropped: it held more than \(slotMaxBytes >> 20) MiB of the leader's WAL")
        }
        let chain = try await chain(collection)
        let tip = try await chain.extend()
        if lsn > tip.lsn {
            throw ReplicationError.bootstrapNeeded(collection: collection.name, reason: "the follower is at LSN \(lsn), past the leader's LSN \(tip.lsn) (diverged)")
        }
        guard let mine = try await chain.hash(at: lsn) else {
            throw ReplicationError.bootstrapNeeded(
                collection: collection.name, reason: "LSN \(lsn) is before the leader's retained log (it starts after LSN \(await chain.anchorLSN))")
        }
        guard mine == hash else {
            throw ReplicationError.bootstrapNeeded(collection: collection.name, reason: "the logs differ at or before LSN \(lsn) (diverged)")
        }
        return chain
    }

    /// Ships the log after `lsn` (whose hash is `hash`, already checked) to `send`, then the
    /// live tail, until `send` throws, the collection goes, or the leader stops.
    public func stream(
        _ collection: Collection, after lsn: UInt64, hash: LogHash, node: String,
        send: ([UInt8]) async throws -> Void
    ) async throws {
        let key = FollowerKey(node: node, collection: collection.name)
        try await holdSlot(collection, node: node, from: lsn + 1)
        update(key) { $0.connected = true; $0.sentLSN = lsn }
        defer { update(key) { $0.connected = false } }
        try await send(ReplicationFrame.streamMagic)
        var reader = try collection.walReader(after: lsn)
        var last = hash
        while !stopping.load(ordering: .relaxed) {
            if isLost(key) {
                throw ReplicationError.bootstrapNeeded(collection: collection.name, reason: "the follower's slot was dropped")
            }
            let durable = collection.durableLSN
            if reader.nextLSN <= durable {
                let (moved, entries) = try await runBlocking("hsdb.ship") { [reader] in
                    var r = reader
                    let entries = try r.read(through: durable, maxBytes: Self.frameBytes)
                    return (r, entries)
                }
                reader = moved
                var records: [ReplicationFrame.Record] = []
                records.reserveCapacity(entries.count)
                for e in entries {
                    last = last.next(e)
                    records.append(.init(entry: e, hash: last))
                }
                try await send(frame(collection, records))
                let sent = reader.nextLSN - 1
                update(key) { $0.sentLSN = sent }
                continue
            }
            try await send(frame(collection, []))
            await collection.waitForCommit(after: durable, timeout: Self.heartbeat)
        }
    }

    private func frame(_ collection: Collection, _ records: [ReplicationFrame.Record]) -> [UInt8] {
        let commit = collection.lastCommit
        return ReplicationFrame(
            epoch: epoch, leaderDurableLSN: collection.durableLSN, leaderCommitTime: commit.time, records: records
        ).encode()
    }

    // MARK: Slots

    /// A follower made every record through `durable` of `collection` durable: its slot
    /// moves there (the WAL after it is kept for it, across restarts).
    public func acknowledge(_ collection: Collection, node: String, durable: UInt64, applied: UInt64) async throws {
        let key = FollowerKey(node: node, collection: collection.name)
        guard !isLost(key) else { return }
        let (moved, pin) = followers.withLock { all -> (Bool, Bool) in
            var p = all[key] ?? FollowerProgress()
            let moved = p.durableLSN != durable || p.durableLSN == nil
            p.durableLSN = durable
            p.appliedLSN = applied
            p.lastAck = Date()
            // The slot's pin is a durable file: written at most every `pinInterval` (and by
            // `moveAnchors`); one behind keeps more WAL than needed, never less.
            let pin = moved && p.pinnedAt.map { ContinuousClock.now - $0 >= Self.pinInterval } ?? true
            if pin { p.pinnedAt = .now; p.pinnedDurableLSN = durable }
            all[key] = p
            return (moved, pin)
        }
        if moved { copyWaiters.changed(collection.name) { [self] name, lsn, n in followersDurable(name, through: lsn) >= n } }
        if pin { try await collection.pinWAL(Self.slotPrefix + node, from: durable + 1) }
    }

    /// A follower that opens a stream holds its slot from where it asked, before it has
    /// acknowledged anything: so the log it is about to be sent is kept (and counted against
    /// the slot's cap) even if the link fails before the first acknowledgement arrives.
    private func holdSlot(_ collection: Collection, node: String, from lsn: UInt64) async throws {
        let key = FollowerKey(node: node, collection: collection.name)
        try await collection.pinWAL(Self.slotPrefix + node, from: lsn)
        // Dropped meanwhile (`moveAnchors` marks it lost, then unpins): do not bring it back.
        if isLost(key) {
            try await collection.unpinWAL(Self.slotPrefix + node)
            throw ReplicationError.bootstrapNeeded(collection: collection.name, reason: "the follower's slot was dropped")
        }
        update(key) { $0.pinnedDurableLSN = lsn - 1 }
    }

    /// Writes the slot pins that acknowledgements moved since they were last written.
    private func writePendingPins(_ collection: Collection) async throws {
        let dropped = lost.withLock { $0 }
        let pending = followers.withLock { all -> [(String, UInt64)] in
            var out: [(String, UInt64)] = []
            for (key, p) in all where key.collection == collection.name && !dropped.contains(key) {
                guard let durable = p.durableLSN, p.pinnedDurableLSN != durable else { continue }
                all[key]?.pinnedAt = .now
                all[key]?.pinnedDurableLSN = durable
                out.append((key.node, durable))
            }
            return out
        }
        for (node, durable) in pending { try await collection.pinWAL(Self.slotPrefix + node, from: durable + 1) }
    }

    // MARK: Synchronous writes

    /// Waits until at least `followers` followers said they made `collection` durable through
    /// `lsn` (for a `write_consistency_factor` of `followers + 1`), or `timeout` passed;
    /// returns how many had by then.
    public func waitForFollowers(_ followers: Int, of collection: Collection, through lsn: UInt64, timeout: Duration) async -> Int {
        _ = await copyWaiters.wait(collection: collection.name, lsn: lsn, followers: followers, timeout: timeout) { [self] name, lsn, n in
            followersDurable(name, through: lsn) >= n
        }
        return followersDurable(collection.name, through: lsn)
    }

    /// Followers (with their slot) that made `collection` durable through `lsn`.
    func followersDurable(_ collection: String, through lsn: UInt64) -> Int {
        let dropped = lost.withLock { $0 }
        return followers.withLock { all in
            all.filter { $0.key.collection == collection && ($0.value.durableLSN ?? 0) >= lsn && !dropped.contains($0.key) }.count
        }
    }

    /// Lets the chain anchors follow the slowest slot (or the tip when no follower needs
    /// more), so the WAL the chain pins is only what some follower may still ask for; never
    /// past the flushed LSN, so a snapshot (which is at least there) has a hash to offer.
    public func moveAnchors() async {
        guard let names = try? db.listCollections().map(\.name) else { return }
        for name in names {
            guard let collection = try? db.collection(name), let chain = try? await chain(collection) else { continue }
            do {
                let tip = try await chain.extend()
                try await writePendingPins(collection)
                var slots = collection.walPinLSNs.filter { $0.key.hasPrefix(Self.slotPrefix) }
                for (slot, from) in slots where try collection.walBytes(from: from) > slotMaxBytes {
                    logger.warning("replication: follower \(slot.dropFirst(Self.slotPrefix.count)) of '\(name)' holds more than \(slotMaxBytes >> 20) MiB of WAL (it is at LSN \(from - 1)): its slot is dropped, and it will bootstrap from a snapshot")
                    _ = lost.withLock { $0.insert(FollowerKey(node: String(slot.dropFirst(Self.slotPrefix.count)), collection: name)) }
                    try await collection.unpinWAL(slot)
                    slots[slot] = nil
                    droppedSlots.add(1, ordering: .relaxed)
                }
                let slowest = slots.values.map { $0 - 1 }.min() ?? tip.lsn
                try await chain.moveAnchor(toward: min(tip.lsn, slowest, collection.flushedLSN))
            } catch {
                logger.warning("replication: could not move the chain anchor of '\(name)': \(error)")
            }
        }
    }

    // MARK: Bootstrap

    /// The log after a snapshot's segments a follower streams rather than the leader flushing
    /// it first: at most this many bytes of WAL files.
    static let unflushedTailMaxBytes: Int64 = 64 << 20

    /// A snapshot of `collection` for a follower to bootstrap from: its files at the flushed
    /// LSN (the collection flushed first when more than 64 MiB of log, or a log the chain
    /// does not reach, follows it), metadata, manifest and segments held as the mappings
    /// a capture takes, so a compaction that retires a segment changes nothing a download
    /// reads, and nothing is copied on the leader's disk. The follower's slot is pinned at
    /// the snapshot's LSN first, so the log after it stays for the follower.
    public func prepareSnapshot(_ collection: Collection, node: String) async throws -> SnapshotOffer {
        let chain = try await chain(collection)
        if let offer = try await reusableOffer(collection, chain: chain) {
            _ = lost.withLock { $0.remove(FollowerKey(node: node, collection: collection.name)) }
            try await collection.pinWAL(Self.slotPrefix + node, from: offer.lsn + 1)
            guard try await chain.hash(at: offer.lsn) == offer.hash else {  // retired meanwhile
                offers.withLock { $0[collection.name] = nil }
                return try await prepareSnapshot(collection, node: node)
            }
            logger.info("replication: snapshot \(offer.name) of '\(collection.name)' at LSN \(offer.lsn) offered again, to follower \(node)")
            return offer
        }
        _ = lost.withLock { $0.remove(FollowerKey(node: node, collection: collection.name)) }
        // Keep what the chain may need while the snapshot is taken.
        try await collection.pinWAL(Self.slotPrefix + node, from: await chain.anchorLSN + 1)
        var prepared = try await PreparedSnapshot.capture(collection)
        var hash = try await chain.hash(at: prepared.lsn)
        let tail = try collection.walBytes(from: prepared.lsn + 1)
        if hash == nil || tail > Self.unflushedTailMaxBytes {
            // A short log after the segments streams faster than a flush builds a segment.
            try await collection.flush()
            prepared = try await PreparedSnapshot.capture(collection)
            hash = try await chain.hash(at: prepared.lsn)
        }
        guard let hash else {
            throw ReplicationError.io("the chain of '\(collection.name)' does not reach the snapshot's LSN \(prepared.lsn)")
        }
        try await collection.pinWAL(Self.slotPrefix + node, from: prepared.lsn + 1)
        let cutStart = ContinuousClock.now
        let dag = try await runBlocking("hsdb.snapshot.dag") { [prepared] in
            try SnapshotDAG(prepared, collection: collection.name, hash: hash)
        }
        let cut = ContinuousClock.now - cutStart
        let offer = SnapshotOffer(name: "\(collection.name)-\(UUID().uuidString.lowercased())", lsn: prepared.lsn, hash: hash,
                                  files: prepared.files.map(\.description), root: dag.root, blocks: dag.blockCount)
        logger.info("replication: snapshot \(offer.name) of '\(collection.name)' at LSN \(offer.lsn) (\(offer.bytes) bytes in \(offer.files.count) files) as \(dag.blockCount) blocks under root \(dag.root) (hashed in \(cut)), for follower \(node)")
        offers.withLock { $0[collection.name] = (ObjectIdentifier(collection), offer, prepared, dag) }
        return offer
    }

    /// The collection's last snapshot when it can be offered again: same collection, its LSN
    /// still in the chain, and the log after it under half a slot's cap. So a follower
    /// killed or cut off mid-download gets the same files, and resumes.
    private func reusableOffer(_ collection: Collection, chain: LogChain) async throws -> SnapshotOffer? {
        guard let (id, offer, _, _) = offers.withLock({ $0[collection.name] }), id == ObjectIdentifier(collection),
            offer.lsn >= (await chain.anchorLSN),
            try collection.walBytes(from: offer.lsn + 1) < slotMaxBytes / 2
        else { return nil }
        return offer
    }

    /// A file of a prepared snapshot, or nil when there is no such snapshot (a newer one
    /// replaced it, or the leader restarted) or no such file in it.
    public func snapshotFile(_ snapshot: String, _ file: String) -> PreparedSnapshot.File? {
        offers.withLock { all in
            all.values.first { $0.offer.name == snapshot }?.prepared.files.first { $0.description.name == file }
        }
    }

    /// A prepared snapshot's DAG and the capture its leaves are read from, or nil when there
    /// is no such snapshot (a newer one replaced it, or the leader restarted).
    public func snapshotDAG(_ snapshot: String) -> (prepared: PreparedSnapshot, dag: SnapshotDAG)? {
        offers.withLock { all in all.values.first { $0.offer.name == snapshot }.map { ($0.prepared, $0.dag) } }
    }

    // MARK: Status

    public func status() async -> [LeaderFollowerStatus] {
        let all = followers.withLock { $0 }
        var out: [LeaderFollowerStatus] = []
        for (key, p) in all.sorted(by: { ($0.key.collection, $0.key.node) < ($1.key.collection, $1.key.node) }) {
            guard let c = try? db.collection(key.collection) else { continue }
            let durable = c.durableLSN
            let acked = p.durableLSN ?? 0
            let retained = c.walPinLSNs[Self.slotPrefix + key.node].flatMap { try? c.walBytes(from: $0) } ?? 0
            // nil when the follower's position is before what the chain holds (it must bootstrap).
            let lagBytes = try? await chain(c).bytes(after: acked)
            out.append(LeaderFollowerStatus(
                node: key.node, collection: key.collection, connected: p.connected, dropped: isLost(key), sentLSN: p.sentLSN,
                durableLSN: p.durableLSN, appliedLSN: p.appliedLSN, leaderLSN: durable,
                lagRecords: durable > acked ? durable - acked : 0, lagBytes: lagBytes, retainedWALBytes: retained,
                secondsSinceAck: p.lastAck.map { Date().timeIntervalSince($0) }))
        }
        return out
    }

    private func isLost(_ key: FollowerKey) -> Bool { lost.withLock { $0.contains(key) } }

    private func update(_ key: FollowerKey, _ change: (inout FollowerProgress) -> Void) {
        followers.withLock { all in
            var p = all[key] ?? FollowerProgress()
            change(&p)
            all[key] = p
        }
    }
}

struct FollowerProgress: Sendable {
    var connected = false
    var sentLSN: UInt64 = 0
    var durableLSN: UInt64?
    var appliedLSN: UInt64?
    var lastAck: Date?
    /// When the slot's pin was last written, and at which durable LSN.
    var pinnedAt: ContinuousClock.Instant?
    var pinnedDurableLSN: UInt64?
}

/// What a follower is told to download to bootstrap: the files of a collection at `lsn`,
/// each with its size and SHA-256, and the running hash at `lsn` its chain starts from.
public struct SnapshotOffer: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        /// As in a collection directory: `collection.meta`, `MANIFEST`, `<content id>.seg`.
        public let name: String
        public let bytes: Int
        /// Lowercase hex; a segment's is its content id.
        public let sha256: String
    }

    public let name: String
    public let lsn: UInt64
    public let hash: LogHash
    public let files: [File]
    /// The root of the snapshot's DAG (`SnapshotRoot`) and its block count; nil from a
    /// leader older than snapshot DAGs, whose followers fetch the files whole.
    public var root: CID? = nil
    public var blocks: Int = 0

    public var bytes: Int { files.reduce(0) { $0 + $1.bytes } }
}

/// One follower of one collection, as the leader sees it.
public struct LeaderFollowerStatus: Sendable {
    public let node: String
    public let collection: String
    public let connected: Bool
    /// Its slot was dropped at the cap: it must bootstrap.
    public let dropped: Bool
    public let sentLSN: UInt64
    public let durableLSN: UInt64?
    public let appliedLSN: UInt64?
    public let leaderLSN: UInt64
    public let lagRecords: UInt64
    /// The bytes of the records after its durable LSN through the leader's (as on disk:
    /// header and body); nil when its position is before what the leader's chain holds.
    public let lagBytes: UInt64?
    /// Bytes of the WAL files its slot keeps (whole files from the one holding its next LSN):
    /// what counts against `--replica-max-retained-mb`.
    public let retainedWALBytes: Int64
    public let secondsSinceAck: Double?
}
