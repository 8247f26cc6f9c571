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

extension ContinuousArchiver.Settings {
    /// The archiver's settings from `hsdb serve`'s options, archiving into `directory`.
    init(serverSettings settings: ServerSettings, directory: String) {
        self.init(directory: directory)
        interval = settings.archiveInterval
        maxRetainedBytes = settings.backupMaxRetainedBytes
        baseEvery = settings.baseBackupEvery
        baseAfterBytes = settings.baseBackupAfterBytes
        keepFull = settings.backupKeepFull
    }
}
