/// What the election asks of the node it runs on (the server's replication node implements
/// it): its progress, and the role changes an election decides.
public protocol ClusterRoleControl: Sendable {
    /// The node's id (`NODE`), which names its slots on a leader.
    var nodeID: String { get }
    func progress() -> ClusterProgress
    /// Stops following, so what the node holds is what it would lead with.
    func stopFollowing() async
    /// Leads in `epoch` (above every epoch the node has seen); `former` is the previous
    /// leader's URL, to be told the new epoch (so it takes no more writes).
    func lead(epoch: UInt64, former: String?) async throws
    /// Follows `leader` (nothing changes when it already does).
    func follow(_ leader: ClusterLeader) async throws
    /// Neither leads nor follows: no leader is known, or this node's lease lapsed.
    func standBy(_ reason: String) async
    /// "leader", "follower", "standby" or "fenced", for the member record.
    var roleName: String { get }
    /// Why this node must not lead now (nil: it may): a node holding a collection it set
    /// aside as damaged would lead without it, and its followers would drop theirs.
    var cannotLead: String? { get }
}

public enum ClusterError: Error, Sendable, CustomStringConvertible {
    case leaseLost(String)
    /// A cluster operation this node cannot do now (with why).
    case refused(String)

    public var description: String {
        switch self {
        case .leaseLost(let why): "the lease in etcd is lost: \(why)"
        case .refused(let why): why
        }
    }
}
