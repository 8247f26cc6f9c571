import Foundation
import Logging
import Replication
import ServiceLifecycle

/// Runs the replication side next to the HTTP server, in whatever role the node has, and
/// again when a promotion or a fence changes it: a follower follows; a leader moves its
/// chain anchors behind its slowest follower and, once promoted, tells its former leader
/// the new epoch until that one answers; at shutdown a leader ends its streams (so the HTTP
/// server's graceful shutdown need not wait for them).
struct ReplicationService: Service {
    static let anchorInterval: Duration = .seconds(10)
    static let tick: Duration = .seconds(1)
    let node: ReplicationNode

    func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let generation = node.generation
                switch node.roleNow {
                case .follower(let follower):
                    // Ends when cancelled: by the shutdown, or by a role change (a promotion,
                    // an election), which stops the follower before taking effect.
                    await node.startFollowing(follower, generation: generation)?.value
                    while node.generation == generation, !Task.isShuttingDownGracefully, !Task.isCancelled {
                        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(20)) }
                    }
                case .leader(let leader):
                    await lead(leader, while: generation)
                case .fenced, .standby:
                    while node.generation == generation, !Task.isShuttingDownGracefully, !Task.isCancelled {
                        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(20)) }
                    }
                }
            }
        } onGracefulShutdown: {
            node.leader?.stop()
            Task { await node.stopFollowing() }
        }
    }

    /// The leader's housekeeping, until the role changes or the server stops. Opening every
    /// chain at once (the first `moveAnchors`) pins each log from its anchor, before a flush
    /// could retire what a returning follower will ask for.
    private func lead(_ leader: ReplicationLeader, while generation: Int) async {
        var lastAnchorMove: ContinuousClock.Instant?
        while node.generation == generation, !Task.isShuttingDownGracefully, !Task.isCancelled {
            if lastAnchorMove.map({ ContinuousClock.now - $0 >= Self.anchorInterval }) ?? true {
                await leader.moveAnchors()
                lastAnchorMove = .now
            }
            if let former = node.formerLeaderToFence { await fence(former, epoch: leader.epoch) }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.tick) }
        }
    }

    private func fence(_ former: String, epoch: UInt64) async {
        do {
            let client = try ServerAdminClient(server: former, apiKey: node.settings.leaderAPIKey)
            let outcome = try await client.fence(epoch: epoch)
            node.formerLeaderFenced()
            node.logger.notice("replication: the former leader \(former) \(outcome)")
        } catch {
            // Down or unreachable: it is told when it returns (it takes writes meanwhile only
            // if clients still reach it; see DESIGN.md, "Failover").
        }
    }
}
