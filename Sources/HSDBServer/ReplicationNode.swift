import Foundation
import HSDB
import Logging
import Replication
import Synchronization

/// This server's part in replication, and its role, which a promotion or a fence changes
/// while it runs: a leader ships its log to whoever asks with the right key; a follower
/// (`--replica-of`) copies its leader and is read-only; a fenced former leader (a newer
/// epoch was promoted elsewhere) takes no writes until it rejoins as a follower or is
/// promoted again.
final class ReplicationNode: Sendable {
    enum Role: Sendable {
        case leader(ReplicationLeader)
        case follower(ReplicationFollower)
        case fenced
    }

    let db: Database
    let settings: ServerSettings
    let logger: Logger
    private let current: Mutex<(state: NodeState, role: Role, generation: Int)>
    /// A promoted node's former leader, told of the new epoch until it answers.
    private let formerLeader = Mutex<String?>(nil)
    /// The running follower's task, which a promotion stops.
    private let following = Mutex<Task<Void, Never>?>(nil)

    init(db: Database, settings: ServerSettings, logger: Logger) throws {
        self.db = db
        self.settings = settings
        self.logger = logger
        let state = try NodeState.load(database: db.path, leader: settings.replicaOf == nil)
        current = Mutex((state, .fenced, 0))
        if let upstream = settings.replicaOf {
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

    var role: String {
        switch roleNow {
        case .leader: "leader"
        case .follower: "follower"
        case .fenced: "fenced"
        }
    }

    /// Makes this node the leader in a new epoch, past every epoch it has seen: a follower
    /// stops following first (what it made durable is what it leads with). Its former leader
    /// is then told the new epoch, so that one takes no more writes.
    func promote() async throws -> UInt64 {
        if let task = following.withLock({ $0 }) {
            task.cancel()
            await task.value
        }
        let (epoch, upstream) = try current.withLock { c -> (UInt64, String?) in
            var upstream: String?
            var seen = c.state.epoch
            if case .follower(let f) = c.role {
                upstream = f.leaderURL
                seen = max(seen, f.epochSeen)
            }
            var next = c.state
            next.epoch = seen + 1
            next.leadingEpoch = seen + 1
            try next.save(database: db.path)
            c.state = next
            c.role = .leader(makeLeader(epoch: next.epoch))
            c.generation += 1
            return (next.epoch, upstream)
        }
        following.withLock { $0 = nil }
        if let upstream { formerLeader.withLock { $0 = upstream } }
        logger.notice("replication: promoted to leader of epoch \(epoch)\(upstream.map { "; telling the former leader \($0)" } ?? "")")
        return epoch
    }

    /// A newer leader's notice: with `epoch` above this node's, it records the epoch and, if
    /// it was leading, is fenced. Returns false for a notice not newer than what it knows.
    func fence(epoch: UInt64) throws -> Bool {
        let fenced = try current.withLock { c -> Bool? in
            guard epoch > c.state.epoch else { return nil }
            var next = c.state
            next.epoch = epoch
            try next.save(database: db.path)
            c.state = next
            guard case .leader(let leader) = c.role else { return false }
            leader.stop()
            c.role = .fenced
            c.generation += 1
            return true
        }
        guard let fenced else { return false }
        if fenced { logger.warning("replication: fenced by a leader of epoch \(epoch): this node takes no more writes") }
        return true
    }

    // MARK: For the service

    func startFollowing(_ follower: ReplicationFollower) -> Task<Void, Never> {
        let task = Task { await follower.run() }
        following.withLock { $0 = task }
        return task
    }

    func stopFollowing() { following.withLock { $0 }?.cancel() }

    /// The former leader still to be fenced, if any.
    var formerLeaderToFence: String? { formerLeader.withLock { $0 } }
    func formerLeaderFenced() { formerLeader.withLock { $0 = nil } }

    private func makeLeader(epoch: UInt64) -> ReplicationLeader {
        ReplicationLeader(db: db, epoch: epoch, logger: logger, slotMaxBytes: settings.replicationSlotMaxBytes)
    }

    private func makeFollower(_ upstream: String, state: NodeState) throws -> ReplicationFollower {
        try ReplicationFollower(db: db, leaderURL: upstream, apiKey: settings.leaderAPIKey, node: state, logger: logger) {
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
