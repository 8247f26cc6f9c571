import Logging
import Replication
import ServiceLifecycle

/// Cluster mode (`hsdb serve --etcd`): runs the node's election in etcd beside the server,
/// until shutdown, when it revokes its lease (a leader's key goes at once, so the others
/// elect without waiting out the TTL).
struct ClusterService: Service {
    let node: ReplicationNode
    let election: ClusterElection

    init(node: ReplicationNode, settings: ClusterSettings) throws {
        self.node = node
        election = try ClusterElection(settings: settings, roles: ClusterRoles(node: node), logger: node.logger)
        node.election.withLock { $0 = election }
    }

    func run() async throws {
        let task = Task { await election.run() }
        await withGracefulShutdownHandler {
            await task.value
        } onGracefulShutdown: {
            task.cancel()
        }
    }
}
