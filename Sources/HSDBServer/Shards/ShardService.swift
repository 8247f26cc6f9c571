import ServiceLifecycle

/// Runs the shard maps' loop beside the server (cluster mode), and at shutdown stops every
/// copy of a shard this node holds: their leases are revoked, so the shards they led elect
/// new leaders at once.
struct ShardService: Service {
    let groups: ShardGroups

    func run() async throws {
        let task = Task { await groups.run() }
        await withGracefulShutdownHandler {
            await task.value
        } onGracefulShutdown: {
            task.cancel()
        }
    }
}
