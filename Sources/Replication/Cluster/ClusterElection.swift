import Foundation
import Logging
import Synchronization

/// A node's part in its cluster (DESIGN.md, "Automatic failover"): a lease in etcd keeps its
/// member key and, while it leads, the leader key; the leader key is taken by one
/// transaction that also advances the epoch counter, and that epoch is the one every frame
/// and catalogue carries. Followers watch the leader key; when it goes (the leader's lease
/// lapsed, or it resigned), each candidate publishes its progress for the round, and the
/// most advanced takes the key. A leader whose lease cannot be renewed before its deadline
/// stops acknowledging writes on its own (`mayAcknowledge`).
public final class ClusterElection: Sendable {
    public let settings: ClusterSettings
    let etcd: EtcdClient
    let clock: any ClusterClock
    let roles: any ClusterRoleControl
    let logger: Logger

    struct State {
        var lease: Int64?
        var deadline: LeaseDeadline
        var leading = false
        var switching = false
        /// The round in which this node last waited for the member a switchover named.
        var waitedForPreferred: UInt64?
        /// Writes admitted and not yet finished (a switchover waits for them).
        var writesInFlight = 0
        var leader: ClusterLeader?
        var members: [ClusterMember] = []
        var lastError: String?
    }
    let state: Mutex<State>

    public init(
        settings: ClusterSettings, roles: any ClusterRoleControl, logger: Logger,
        clock: any ClusterClock = SystemClusterClock()
    ) throws {
        if let problem = settings.problem { throw ReplicationError.io(problem) }
        self.settings = settings
        self.etcd = try EtcdClient(endpoints: settings.endpoints, requestTimeout: settings.requestTimeout)
        self.clock = clock
        self.roles = roles
        self.logger = logger
        state = Mutex(State(deadline: LeaseDeadline(ttl: settings.leaseTTL, margin: settings.deadlineMargin)))
    }

    // MARK: What the server asks

    /// True while this node leads and its lease is certainly held: a write may be
    /// acknowledged.
    public var mayAcknowledge: Bool {
        let now = clock.now
        return state.withLock { $0.leading && !$0.switching && $0.deadline.holds(at: now) }
    }

    /// Admits a write: true, and the write counted in flight, while this node may acknowledge
    /// (it leads, is not handing over, and its lease is certainly held). One lock with the
    /// switchover's flag, so a write is either admitted before a handover starts (and waited
    /// for) or refused.
    public func admitWrite() -> Bool {
        let now = clock.now
        return state.withLock { s in
            guard s.leading && !s.switching && s.deadline.holds(at: now) else { return false }
            s.writesInFlight += 1
            return true
        }
    }

    /// An admitted write is done; true when it may be acknowledged: this node still leads and
    /// its lease is certainly held. (A switchover hands over only once no write is in flight,
    /// and the target holds what they wrote, so their acknowledgement stands.)
    public func finishWrite() -> Bool {
        let now = clock.now
        return state.withLock { s in
            s.writesInFlight -= 1
            return s.leading && s.deadline.holds(at: now)
        }
    }

    var writesInFlight: Int { state.withLock { $0.writesInFlight } }

    public var isLeading: Bool { state.withLock { $0.leading } }
    /// The leader as last read from etcd (nil: none known).
    public var leader: ClusterLeader? { state.withLock { $0.leader } }
    /// The members as last read from etcd.
    public var members: [ClusterMember] { state.withLock { $0.members } }
    public var lastError: String? { state.withLock { $0.lastError } }
    /// The epoch counter's value as last seen (the leader's epoch).
    public var epoch: UInt64? { leader?.epoch }

    // MARK: The loop

    /// Takes part until cancelled; at the end, revokes the lease so that a leader's key goes
    /// at once and the others elect without waiting for its TTL.
    public func run() async {
        while !Task.isCancelled {
            do {
                try await session()
            } catch is CancellationError {
                break
            } catch {
                note(error)
                logger.warning("cluster: \(error); this node rejoins the election")
            }
            await stepDown("its lease in etcd is gone")
            if Task.isCancelled { break }
            try? await clock.sleep(for: settings.retryInterval)
        }
        if let lease = state.withLock({ $0.lease }) {
            let etcd = etcd
            await Task { try? await etcd.revoke(lease) }.value
        }
        await stepDown("the server is stopping")
    }

    /// One lease: granted, kept alive, used to take part, until it is lost.
    private func session() async throws {
        let sent = clock.now
        let ttlSeconds = Int((settings.leaseTTL.components.seconds))
        let (lease, granted) = try await etcd.grantLease(ttl: ttlSeconds)
        state.withLock {
            $0.lease = lease
            $0.deadline = LeaseDeadline(ttl: min(settings.leaseTTL, .seconds(granted)), margin: settings.deadlineMargin)
            $0.deadline.renewed(sentAt: sent)
        }
        logger.info("cluster '\(settings.cluster)': node \(settings.nodeName) holds lease \(String(lease, radix: 16)) (TTL \(granted) s)")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.keepAlive(lease) }
            group.addTask { try await self.participate(lease) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Renews the lease every keepalive interval; throws once etcd says it is gone or the
    /// deadline passed without a renewal.
    private func keepAlive(_ lease: Int64) async throws {
        while true {
            try await clock.sleep(for: settings.keepaliveInterval)
            let sent = clock.now
            do {
                guard try await etcd.keepAlive(lease) != nil else {
                    throw ClusterError.leaseLost("etcd no longer has lease \(String(lease, radix: 16))")
                }
                state.withLock { $0.deadline.renewed(sentAt: sent) }
            } catch let error as EtcdError {
                note(error)
                if error.isLeaseNotFound { throw ClusterError.leaseLost("\(error)") }
            }
            let now = clock.now
            if !state.withLock({ $0.deadline.holds(at: now) }) {
                throw ClusterError.leaseLost("not renewed within its TTL less the margin")
            }
        }
    }

    private func participate(_ lease: Int64) async throws {
        try await publish(lease, round: 0)
        while true {
            try Task.checkCancellation()
            let read: (EtcdKeyValue?, revision: Int64)
            do {
                read = try await etcd.get(settings.leaderKey)
            } catch {
                note(error)
                try await clock.sleep(for: settings.retryInterval)
                continue
            }
            let (entry, revision) = read
            if let entry, let record = ClusterJSON.decode(ClusterLeader.self, entry.value?.bytes) {
                try await heed(record, entry: entry, lease: lease)
                try? await publish(lease, round: 0)
                await refreshMembers()
                _ = await etcd.awaitChange(of: settings.leaderKey, from: revision + 1, timeout: settings.watchTimeout)
                continue
            }
            state.withLock { $0.leader = nil }
            await stepDown("the leader key is gone")
            do {
                try await campaign(lease, revision: revision)
            } catch let error as EtcdError {
                note(error)
                try await clock.sleep(for: settings.retryInterval)
            }
        }
    }

    /// A leader key exists: it is this lease's (lead on), an earlier life's of this node
    /// (removed, then elected anew), or another node's (follow it).
    private func heed(_ record: ClusterLeader, entry: EtcdKeyValue, lease: Int64) async throws {
        state.withLock { $0.leader = record }
        if entry.leaseID == lease { return }
        if record.name == settings.nodeName {
            logger.notice("cluster: the leader key names this node from an earlier lease: removing it")
            _ = try? await etcd.txn(if: [.modified(settings.leaderKey, at: entry.modified)], then: [.delete(settings.leaderKey)])
            return
        }
        if isLeading { await stepDown("\(record.name) leads epoch \(record.epoch)") }
        do {
            try await roles.follow(record)
        } catch {
            note(error)
            logger.warning("cluster: cannot follow \(record.name) at \(record.advertise): \(error)")
        }
    }

    /// No leader: publish this node's progress for the round, let the others do the same,
    /// and take the key only if no live candidate is more advanced.
    private func campaign(_ lease: Int64, revision: Int64) async throws {
        let (counterEntry, _) = try await etcd.get(settings.epochKey)
        let counter = counterEntry.flatMap { UInt64($0.value?.text ?? "") } ?? 0
        let round = counter + 1
        if let reason = roles.cannotLead {
            // Not a candidate (its member record stays out of the round): the others elect.
            logger.warning("cluster: no leader, and this node may not lead: \(reason); waiting for another member")
            _ = await etcd.awaitChange(of: settings.leaderKey, from: revision + 1, timeout: settings.leaseTTL)
            return
        }
        try await publish(lease, round: round)
        try await clock.sleep(for: settings.electionSettle)
        let mine = member(round: round)
        await refreshMembers()
        let contenders = members.filter { $0.round == round && $0.name != settings.nodeName } + [mine]
        let preferred = ClusterJSON.decode(String.self, try await etcd.get(settings.switchoverKey).0?.value?.bytes)
        if let preferred, preferred != settings.nodeName, !contenders.contains(where: { $0.name == preferred }),
            members.contains(where: { $0.name == preferred }), state.withLock({ $0.waitedForPreferred != round })
        {
            // The member a switchover names is alive but has not published for this round yet
            // (it was busy when the key went): wait for it once, rather than take its place.
            state.withLock { $0.waitedForPreferred = round }
            logger.info("cluster: no leader; waiting for \(preferred), named by the switchover")
            _ = await etcd.awaitChange(of: settings.leaderKey, from: revision + 1, timeout: settings.leaseTTL)
            return
        }
        let best = contenders.first { $0.name == preferred } ?? contenders.reduce(mine) { $1.outranks($0) ? $1 : $0 }
        guard best.name == settings.nodeName else {
            logger.info("cluster: no leader; deferring to \(best.name) (more advanced, or chosen by a switchover)")
            _ = await etcd.awaitChange(of: settings.leaderKey, from: revision + 1, timeout: settings.leaseTTL)
            return
        }
        let former = leader?.advertise
        await roles.stopFollowing()
        let epoch = max(counter, roles.progress().epoch) + 1
        let record = ClusterLeader(name: settings.nodeName, advertise: settings.advertise, epoch: epoch, nodeID: roles.nodeID)
        let (won, _) = try await etcd.txn(
            if: [.absent(settings.leaderKey), .modified(settings.epochKey, at: counterEntry?.modified ?? 0)],
            then: [
                .put(settings.leaderKey, ClusterJSON.encode(record), lease: lease), .put(settings.epochKey, Array(String(epoch).utf8)),
                .delete(settings.switchoverKey),
            ])
        guard won else {
            logger.info("cluster: another node took the leader key first")
            return
        }
        try await roles.lead(epoch: epoch, former: former)
        state.withLock {
            $0.leading = true
            $0.leader = record
        }
        logger.notice("cluster '\(settings.cluster)': \(settings.nodeName) elected leader of epoch \(epoch)")
        try? await publish(lease, round: 0)
    }

    // MARK: Pieces

    private func member(round: UInt64) -> ClusterMember {
        ClusterMember(
            name: settings.nodeName, advertise: settings.advertise, nodeID: roles.nodeID, role: roles.roleName,
            progress: roles.progress(), round: round)
    }

    private func publish(_ lease: Int64, round: UInt64) async throws {
        try await etcd.put(settings.memberKey(settings.nodeName), ClusterJSON.encode(member(round: round)), lease: lease)
    }

    private func refreshMembers() async {
        guard let entries = try? await etcd.list(prefix: settings.membersPrefix) else { return }
        let members = entries.compactMap { ClusterJSON.decode(ClusterMember.self, $0.value?.bytes) }
        state.withLock { $0.members = members }
    }

    private func stepDown(_ reason: String) async {
        guard state.withLock({ s -> Bool in
            defer {
                s.leading = false
                s.switching = false
            }
            return s.leading
        }) else { return }
        logger.warning("cluster: \(settings.nodeName) stops leading: \(reason)")
        await roles.standBy(reason)
    }

    private func note(_ error: any Error) {
        state.withLock { $0.lastError = "\(error)" }
    }
}
