import HTTPTypes
import Hummingbird
import Replication

extension ReadOnlyFollowerMiddleware {
    /// A write in cluster mode. The leader takes it while its lease is certainly held, and
    /// answers 503 if the lease's deadline passed while the write ran (it is in the log, its
    /// outcome unknown, as with any lost answer). Any other node redirects it (307, which
    /// keeps the method and body) to the leader named in etcd: not forwarded, so the client
    /// learns where writes go and no write has two hops that can fail apart. With no leader
    /// known: 503 with Retry-After, as during an election.
    func clusterWrite(
        _ request: Request, context: HSDBRequestContext, cluster: ClusterElection,
        next: (Request, HSDBRequestContext) async throws -> Response
    ) async throws -> Response {
        if case .leader = node.roleNow, cluster.isLeading {
            guard cluster.mayAcknowledge else { throw Self.leaseLapsed(cluster) }
            let response = try await next(request, context)
            guard cluster.mayAcknowledge else { throw Self.leaseLapsed(cluster) }
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

    static func leaseLapsed(_ cluster: ClusterElection) -> APIError {
        var error = APIError(
            status: .serviceUnavailable,
            message: "Service unavailable: this server could not renew its leader lease in etcd in time, so it may no longer lead "
                + "cluster '\(cluster.settings.cluster)'; the write is not acknowledged (retry: a leader is elected within the lease TTL)")
        error.retryAfterSeconds = 1
        return error
    }
}
