import Backup
import ServiceLifecycle

/// Runs the continuous archiver beside the HTTP server; at a graceful shutdown it takes a
/// last backup (if anything changed) before the database closes.
struct BackupService: Service {
    let archiver: ContinuousArchiver

    func run() async throws {
        await archiver.run { Task.isShuttingDownGracefully }
    }
}
