import Foundation

/// Where a follower's copy of one collection stands.
public enum FollowerState: String, Sendable {
    /// Connected and at the leader's last durable LSN.
    case streaming
    /// Connected and behind: applying what the leader sends.
    case catchingUp = "catching_up"
    /// Downloading and installing a snapshot.
    case bootstrapping
    /// Not connected (the leader is down or the link is cut): retrying.
    case disconnected
}

/// One collection on a follower: how far it is and how far behind the leader.
public struct FollowerCollectionStatus: Sendable {
    public var collection: String
    public var state: FollowerState = .disconnected
    /// The last LSN made durable (and applied) here.
    public var appliedLSN: UInt64 = 0
    /// The leader's last durable LSN, as of the last frame.
    public var leaderLSN: UInt64 = 0
    /// The leader's commit time of its last record (ns since the Unix epoch), as of the last frame.
    public var leaderCommitTime: UInt64 = 0
    /// Since when this copy has been behind the leader (nil: caught up).
    public var behindSince: Date?
    public var lastFrame: Date?
    public var lastError: String?
    public var bootstraps = 0
    /// WAL streams opened since this server started (1 while nothing ever broke one).
    public var streamsOpened = 0
    public var rejectedFrames = 0
    public var bytesReceived: Int64 = 0
    /// Bytes of snapshot files downloaded by bootstraps (files already held are not fetched).
    public var snapshotBytesFetched: Int64 = 0
    /// Anti-entropy: comparisons of the state tree with the leader's, points set right by
    /// them, and what the last one found.
    public var treeChecks = 0
    public var pointsRepaired = 0
    public var lastTreeCheck: String?

    public var lagRecords: UInt64 { leaderLSN > appliedLSN ? leaderLSN - appliedLSN : 0 }
    /// How stale a read here may be, at most: the time since this copy was last caught up
    /// (0 when caught up as of the last frame, which comes at least every heartbeat).
    public var lagSeconds: Double {
        guard let since = behindSince ?? (state == .disconnected ? lastFrame : nil) else { return 0 }
        return Date().timeIntervalSince(since)
    }
}
