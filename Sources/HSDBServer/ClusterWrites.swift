import HSDB
import HTTPTypes
import Hummingbird
import Replication

extension ReadOnlyFollowerMiddleware {
    /// A write in cluster mode. The leader takes it while its lease is certainly held and it
    /// is not handing over, and answers 503 if the lease's deadline passed while the write
    /// ran (it is in the log, its outcome unknown, as with any lost answer). A switchover
    /// waits for the writes it admitted, so those are acknowledged. Any other node redirects it (307, which
    /// keeps the method and body) to the leader named in etcd: not forwarded, so the client
    /// learns where writes go and no write has two hops that can fail apart. With no leader
    /// known: 503 with Retry-After, as during an election.
    func clusterWrite(
        _ request: Request, context: HSDBRequestContext, cluster: ClusterElection,
        next: (Request, HSDBRequestContext) async throws -> Response
    ) async throws -> Response {
        if case .leader = node.roleNow, cluster.isLeading {
            guard cluster.admitWrite() else { throw Self.notLeadingNow(cluster) }
            let response: Response
            do {
                response = try await next(request, context)
            } catch {
                _ = cluster.finishWrite()
                throw error
            }
            guard cluster.finishWrite() else { throw Self.leaseLapsed(cluster) }
            return response
        }
        if let leader = cluster.leader, leader.name != cluster.settings.nodeName {
            var error = APIError(
                status: .temporaryRedirect,
                message: "Temporary redirect: this server follows \(leader.name), the leader of epoch \(leader.epoch) "
                    + "in cluster '\(cluster.settings.cluster)'; send writes to \(leader.advertise)")
            error.location = leader.advertise + request.uri.description
            throw error
        }
        var error = APIError(
            status: .serviceUnavailable,
            message: "Service unavailable: cluster '\(cluster.settings.cluster)' has no leader now (an election is under way); retry shortly")
        error.retryAfterSeconds = 1
        throw error
    }

    /// Before a write: this leader may not acknowledge now (its lease is in doubt, or it is
    /// handing over); nothing was written, so the client may retry at once.
    static func notLeadingNow(_ cluster: ClusterElection) -> APIError {
        var error = APIError(
            status: .serviceUnavailable,
            message: "Service unavailable: this server cannot acknowledge writes now (its leader lease in etcd is in doubt, "
                + "or it is handing the lead over) in cluster '\(cluster.settings.cluster)'; the write was not applied: retry shortly")
        error.retryAfterSeconds = 1
        return error
    }

    static func leaseLapsed(_ cluster: ClusterElection) -> APIError {
        var error = APIError(
            status: .serviceUnavailable,
            message: "Service unavailable: this server could not renew its leader lease in etcd in time, so it may no longer lead "
                + "cluster '\(cluster.settings.cluster)'; the write is not acknowledged (retry: a leader is elected within the lease TTL)")
        error.retryAfterSeconds = 1
        return error
    }
}

extension ReadOnlyFollowerMiddleware {
    /// The header a cluster leader puts on a read it can vouch for: served while its lease
    /// was certainly held (so no newer leader existed), and, for a collection whose
    /// write_consistency_factor F > 1, once everything the read could see is durable on F
    /// copies (so no write it shows can be lost in a failover: no dirty read). A read is
    /// never refused for this: it waits up to `vouchWait` for the copies, then is answered
    /// without the header (followers down must not make the leader unreadable). Reads
    /// without it may be stale, or show a write a failover could still lose.
    static let leaderEpochHeader = HTTPField.Name("hsdb-leader-epoch")!
    static let vouchWait: Duration = .milliseconds(500)

    func clusterRead(
        _ request: Request, context: HSDBRequestContext, cluster: ClusterElection,
        next: (Request, HSDBRequestContext) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError where error.status == .notFound {
            // "No point with id N" is a read's answer too (absent), which the leader vouches for.
            response = Envelope.error(error, since: start)
        }
        let answered = response.status.code < 400 || response.status == .notFound
        guard case .leader(let leader) = node.roleNow, cluster.isLeading, answered else { return response }
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
        if parts.count >= 2, parts[0] == "collections" {
            guard let c = collection(named: String(parts[1])) else { return response }
            let factor = CollectionSpec.writeConsistencyFactor(of: c, default: node.settings.writeConsistencyFactor)
            if factor > 1 {
                let lsn = max(c.appliedLSN, c.durableLSN)
                let have = await leader.waitForFollowers(factor - 1, of: c, through: lsn, timeout: Self.vouchWait)
                guard have >= factor - 1 else { return response }
            }
        }
        guard cluster.mayAcknowledge else { return response }
        response.headers[Self.leaderEpochHeader] = String(node.state.leadingEpoch)
        return response
    }

    /// The collection a path segment names, directly or through an alias.
    private func collection(named raw: String) -> HSDB.Collection? {
        guard let name = raw.removingPercentEncoding else { return nil }
        if let c = try? node.db.collection(name) { return c }
        guard let target = (try? node.db.aliases())?.first(where: { $0.alias == name })?.collection else { return nil }
        return try? node.db.collection(target)
    }
}
