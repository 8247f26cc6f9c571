import Foundation
import HSDB
import Logging
import Replication
import Synchronization

/// This server's part in replication, and its role, which a promotion, a fence or (in a
/// cluster) an election changes while it runs: a leader ships its log to whoever asks with
/// the right key; a follower copies its leader and is read-only; a fenced former leader (a
/// newer epoch was promoted elsewhere) takes no writes until it rejoins or is promoted
/// again; a cluster member on standby waits for the election.
final class ReplicationNode: Sendable {
    enum Role: Sendable {
        case leader(ReplicationLeader)
        case follower(ReplicationFollower)
        case fenced
        /// In a cluster: neither leading nor following (no leader known yet, or this node's
        /// lease lapsed); takes no writes.
        case standby(String)
    }

    let db: Database
    let settings: ServerSettings
    let logger: Logger
    private let current: Mutex<(state: NodeState, role: Role, generation: Int)>
    /// A promoted node's former leader, told of the new epoch until it answers.
    private let formerLeader = Mutex<String?>(nil)
    /// The running follower's task and the role generation it follows for.
    private let following = Mutex<(generation: Int, task: Task<Void, Never>)?>(nil)
    /// The cluster's election, in cluster mode (set once, when the service starts).
    let election = Mutex<ClusterElection?>(nil)

    init(db: Database, settings: ServerSettings, logger: Logger) throws {
        self.db = db
        self.settings = settings
        self.logger = logger
        let state = try NodeState.load(database: db.path, leader: settings.replicaOf == nil && settings.cluster == nil)
        current = Mutex((state, .fenced, 0))
        if settings.cluster != nil {
            current.withLock { $0.role = .standby("waiting for the election in etcd") }
        } else if let upstream = settings.replicaOf {
            let follower = try makeFollower(upstream, state: state)
            current.withLock { $0.role = .follower(follower) }
        } else if state.isFenced {
            logger.warning(
                "replication: this node led epoch \(state.leadingEpoch), but epoch \(state.epoch) has a newer leader: it is fenced and takes no writes (rejoin with --replica-of NEW-LEADER, or promote it)")
        } else {
            let leader = makeLeader(epoch: state.epoch)
            current.withLock { $0.role = .leader(leader) }
        }
    }

    var state: NodeState { current.withLock { $0.state } }
    var roleNow: Role { current.withLock { $0.role } }
    /// Changes each time the role does.
    var generation: Int { current.withLock { $0.generation } }

    var leader: ReplicationLeader? { if case .leader(let l) = roleNow { l } else { nil } }
    var follower: ReplicationFollower? { if case .follower(let f) = roleNow { f } else { nil } }
    var isFenced: Bool { if case .fenced = roleNow { true } else { false } }
    var cluster: ClusterElection? { election.withLock { $0 } }

    var role: String {
        switch roleNow {
        case .leader: "leader"
        case .follower: "follower"
        case .fenced: "fenced"
        case .standby: "standby"
        }
    }

    /// A leader may acknowledge a write: always outside a cluster; in one, while its lease
    /// is certainly held (ClusterElection.mayAcknowledge).
    var mayAcknowledgeWrites: Bool { cluster?.mayAcknowledge ?? true }

    /// Makes this node the leader in a new epoch, past every epoch it has seen: a follower
    /// stops following first (what it made durable is what it leads with). Its former leader
    /// is then told the new epoch, so that one takes no more writes.
    func promote() async throws -> UInt64 {
        let (seen, upstream) = current.withLock { c -> (UInt64, String?) in
            guard case .follower(let f) = c.role else { return (c.state.epoch, nil) }
            return (max(c.state.epoch, f.epochSeen), f.leaderURL)
        }
        let epoch = seen + 1
        try await lead(epoch: epoch, former: upstream)
        logger.notice("replication: promoted to leader of epoch \(epoch)\(upstream.map { "; telling the former leader \($0)" } ?? "")")
        return epoch
    }

    /// Leads in `epoch` (a promotion's, or the one a cluster election's transaction took):
    /// a follower stops first, then the epoch is written to `NODE` (fsynced) as both the
    /// highest seen and the one led. `former` is told the new epoch until it answers.
    func lead(epoch: UInt64, former: String?) async throws {
        await retire("taking the lead")
        try current.withLock { c in
            var next = c.state
            next.epoch = max(next.epoch, epoch)
            next.leadingEpoch = epoch
            try next.save(database: db.path)
            c.state = next
            c.role = .leader(makeLeader(epoch: epoch))
            c.generation += 1
        }
        if let former, former != settings.cluster?.advertise { formerLeader.withLock { $0 = former } }
    }

    /// Follows the leader at `url` of `epoch` (cluster mode); nothing changes when it does.
    func follow(url: String, epoch: UInt64) async throws {
        if let f = follower, f.leaderURL == url { return }
        await retire("changing leader")
        try current.withLock { c in
            var next = c.state
            if epoch > next.epoch {
                next.epoch = epoch
                try next.save(database: db.path)
                c.state = next
            }
            c.role = .follower(try makeFollower(url, state: next))
            c.generation += 1
        }
        logger.notice("replication: following the leader of epoch \(epoch) at \(url)")
    }

    /// Neither leads nor follows (cluster mode: campaigning, no leader known, or the lease
    /// lapsed): a leader ends its streams, a follower stops and is waited for.
    func retire(_ reason: String) async {
        let generation = current.withLock { c -> Int in
            if case .leader(let old) = c.role { old.stop() }
            c.role = .standby(reason)
            c.generation += 1
            return c.generation
        }
        await stopFollowing(before: generation)
    }

    /// A newer leader's notice: with `epoch` above this node's, it records the epoch and, if
    /// it was leading, is fenced. Returns false for a notice not newer than what it knows.
    func fence(epoch: UInt64) throws -> Bool {
        let (fenced, following) = try current.withLock { c -> (Bool?, ReplicationFollower?) in
            guard epoch > c.state.epoch else { return (nil, nil) }
            var next = c.state
            next.epoch = epoch
            try next.save(database: db.path)
            c.state = next
            if case .follower(let f) = c.role { return (false, f) }
            guard case .leader(let leader) = c.role else { return (false, nil) }
            leader.stop()
            c.role = .fenced
            c.generation += 1
            return (true, nil)
        }
        // A follower told of a newer leader refuses its own leader's older frames and
        // catalogues from now on (outside the lock: the follower reports the epoch back).
        following?.saw(epoch: epoch)
        guard let fenced else { return false }
        if fenced { logger.warning("replication: fenced by a leader of epoch \(epoch): this node takes no more writes") }
        return true
    }

    // MARK: For the service

    /// Starts `follower` for role generation `generation`; nil when the role changed since
    /// (so a follower the role no longer names never starts).
    func startFollowing(_ follower: ReplicationFollower, generation: Int) -> Task<Void, Never>? {
        current.withLock { c in
            guard c.generation == generation else { return nil }
            let task = Task { await follower.run() }
            following.withLock { $0 = (generation, task) }
            return task
        }
    }

    /// Cancels the follower's task when it follows for a generation before `generation`
    /// (every one, by default), and waits for it to end.
    func stopFollowing(before generation: Int = .max) async {
        let task = following.withLock { slot -> Task<Void, Never>? in
            guard let running = slot, running.generation < generation else { return nil }
            slot = nil
            return running.task
        }
        task?.cancel()
        await task?.value
    }

    /// The former leader still to be fenced, if any.
    var formerLeaderToFence: String? { formerLeader.withLock { $0 } }
    func formerLeaderFenced() { formerLeader.withLock { $0 = nil } }

    private func makeLeader(epoch: UInt64) -> ReplicationLeader {
        ReplicationLeader(db: db, epoch: epoch, logger: logger, slotMaxBytes: settings.replicationSlotMaxBytes)
    }

    private func makeFollower(_ upstream: String, state: NodeState) throws -> ReplicationFollower {
        try ReplicationFollower(
            db: db, leaderURL: upstream, apiKey: settings.leaderAPIKey, node: state, logger: logger,
            antiEntropyInterval: settings.antiEntropyInterval
        ) {
            [weak self] epoch in self?.persistSeen(epoch)
        }
    }

    private func persistSeen(_ epoch: UInt64) {
        do {
            try current.withLock { c in
                guard epoch > c.state.epoch else { return }
                var next = c.state
                next.epoch = epoch
                try next.save(database: db.path)
                c.state = next
            }
        } catch {
            logger.error("replication: cannot record epoch \(epoch) in \(db.path)/\(NodeState.directoryName): \(error)")
        }
    }
}
