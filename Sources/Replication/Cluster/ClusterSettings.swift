/// How a node takes part in a cluster (`hsdb serve --etcd`): where etcd is, who this node is,
/// and the timings of its lease. Defaults follow Patroni's rule, keepalive + 2 x request
/// timeout <= TTL, so two keepalives can fail in full before the lease may lapse.
public struct ClusterSettings: Sendable, Equatable {
    public var endpoints: [String]
    /// The cluster's name: its keys live under `/hsdb/<cluster>/`.
    public var cluster = "hsdb"
    /// This node's name in the cluster (unique among its members).
    public var nodeName: String
    /// The URL other nodes and clients reach this node's REST API at.
    public var advertise: String
    public var leaseTTL: Duration = .seconds(10)
    public var keepaliveInterval: Duration = .seconds(2)
    public var requestTimeout: Duration = .seconds(3)
    /// How much before the lease's earliest expiry a leader stops acknowledging writes.
    public var deadlineMargin: Duration = .seconds(1)
    /// How long candidates wait for each other's progress before choosing the most advanced.
    public var electionSettle: Duration = .milliseconds(500)
    /// How long one watch of the leader key waits before the key is read again (and this
    /// member's progress published again).
    public var watchTimeout: Duration = .seconds(2)
    /// Wait between attempts after etcd failed a call.
    public var retryInterval: Duration = .milliseconds(500)

    public init(endpoints: [String], nodeName: String, advertise: String) {
        self.endpoints = endpoints
        self.nodeName = nodeName
        self.advertise = advertise
    }

    /// Why these settings cannot work, or nil.
    public var problem: String? {
        if endpoints.isEmpty { return "--etcd names no endpoint" }
        if nodeName.isEmpty || nodeName.contains("/") { return "--node-id must be a non-empty name without '/'" }
        if cluster.isEmpty || cluster.contains("/") { return "--cluster must be a non-empty name without '/'" }
        if leaseTTL < .seconds(2) { return "--lease-ttl must be at least 2 s" }
        if keepaliveInterval + requestTimeout * 2 > leaseTTL {
            return "keepalive interval + 2 x etcd request timeout must not exceed the lease TTL (Patroni's rule): "
                + "\(keepaliveInterval) + 2 x \(requestTimeout) > \(leaseTTL)"
        }
        if deadlineMargin >= leaseTTL - keepaliveInterval { return "the deadline margin must be below TTL - keepalive interval" }
        return nil
    }

    /// Timings derived from one TTL by the rule above: keepalive TTL/5, request timeout
    /// 3 x TTL/10, margin TTL/10.
    public mutating func derive(fromTTL ttl: Duration) {
        leaseTTL = ttl
        keepaliveInterval = ttl / 5
        watchTimeout = ttl / 5
        requestTimeout = ttl * 3 / 10
        deadlineMargin = ttl / 10
    }

    /// Where under the cluster's keys this election runs: empty for the node's own, a shard
    /// group's path for one shard's (`group(uid:shard:)`).
    public var scope = ""

    public var clusterPrefix: String { "/hsdb/\(cluster)/" }
    public var prefix: String { clusterPrefix + scope }
    public var leaderKey: String { prefix + "leader" }
    public var epochKey: String { prefix + "epoch" }
    public var switchoverKey: String { prefix + "switchover" }
    public var membersPrefix: String { prefix + "members/" }
    public func memberKey(_ name: String) -> String { membersPrefix + name }
}
