import HSDBCore

/// What can go wrong between a leader and a follower, with enough context to act on.
public enum ReplicationError: Error, Sendable, CustomStringConvertible {
    /// A shipped frame or record failed its checks (checksum, LSN order, running hash).
    case badFrame(String)
    /// The follower's position is not in the leader's log: it must bootstrap.
    case bootstrapNeeded(collection: String, reason: String)
    /// The leader answered something other than what the protocol expects.
    case leader(status: Int, message: String)
    case io(String)

    public var description: String {
        switch self {
        case .badFrame(let why): "bad replication frame: \(why)"
        case .bootstrapNeeded(let c, let why): "collection '\(c)' needs a bootstrap: \(why)"
        case .leader(let status, let message): "leader answered \(status): \(message)"
        case .io(let why): why
        }
    }
}
