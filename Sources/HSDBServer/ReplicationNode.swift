import HSDB
import Logging
import Replication
import ServiceLifecycle

/// This server's part in replication: every server can lead (it ships its log to whoever
/// asks with the right key); one started with `--replica-of` follows that leader instead,
/// and is read-only.
struct ReplicationNode: Sendable {
    let state: NodeState
    let leader: ReplicationLeader?
    let follower: ReplicationFollower?

    init(db: Database, settings: ServerSettings, logger: Logger) throws {
        state = try NodeState.load(database: db.path)
        if let upstream = settings.replicaOf {
            follower = try ReplicationFollower(db: db, leaderURL: upstream, apiKey: settings.leaderAPIKey, node: state, logger: logger)
            leader = nil
        } else {
            leader = ReplicationLeader(db: db, epoch: state.epoch, logger: logger, slotMaxBytes: settings.replicationSlotMaxBytes)
            follower = nil
        }
    }

    var role: String { follower == nil ? "leader" : "follower" }
}

/// Runs the replication side next to the HTTP server: a follower follows until shutdown; a
/// leader moves its chain anchors behind its slowest follower, and at shutdown ends its
/// streams (so the HTTP server's graceful shutdown need not wait for them).
struct ReplicationService: Service {
    static let anchorInterval: Duration = .seconds(10)
    let node: ReplicationNode

    func run() async throws {
        if let follower = node.follower {
            let following = Task { await follower.run() }
            await withGracefulShutdownHandler {
                await following.value
            } onGracefulShutdown: {
                following.cancel()
            }
        } else if let leader = node.leader {
            await withGracefulShutdownHandler {
                // Opening every chain at once pins each log from its anchor, before a flush
                // could retire what a returning follower will ask for.
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    await leader.moveAnchors()
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.anchorInterval) }
                }
            } onGracefulShutdown: {
                leader.stop()
            }
        }
    }
}
