/// When a leader must stop acknowledging writes by itself: the last keepalive etcd answered,
/// counted from the moment it was *sent* (etcd restarted the lease's TTL no earlier), plus
/// the TTL, less a margin. etcd expires the leader key no earlier than that send + TTL, so a
/// follower can be elected only after this leader has stopped; a leader that cannot reach
/// etcd, or was stopped (SIGSTOP) past its TTL, refuses writes with no word from anyone.
public struct LeaseDeadline: Sendable, Equatable {
    public let ttl: Duration
    public let margin: Duration
    /// When the last answered keepalive (or the grant) was sent; nil: never held.
    public private(set) var renewedAt: Duration?

    public init(ttl: Duration, margin: Duration) {
        self.ttl = ttl
        self.margin = margin
    }

    /// etcd answered a keepalive (or the grant) sent at `sentAt`.
    public mutating func renewed(sentAt: Duration) {
        renewedAt = max(renewedAt ?? sentAt, sentAt)
    }

    public mutating func lost() { renewedAt = nil }

    /// The instant past which the lease may be gone.
    public var expires: Duration? { renewedAt.map { $0 + ttl - margin } }

    public func holds(at now: Duration) -> Bool {
        guard let expires else { return false }
        return now < expires
    }
}
