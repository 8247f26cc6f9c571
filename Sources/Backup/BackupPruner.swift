import HSDBCore
import IPLD

/// What a prune removed.
public struct PruneResult: Sendable, Equatable {
    /// The file names removed, oldest first.
    public let removed: [String]
    public let bytesFreed: Int64
    /// The first backup the directory now holds.
    public let first: UInt64?
}

/// `hsdb backup prune DIR --keep-full N` (and `serve --backup-keep-full N` after each full
/// backup): keeps the newest N full backups and every backup after the oldest of them, and
/// removes the backups before it. The `PRUNED` marker is written (atomically) before any file
/// goes, so a crash mid-prune leaves a directory that reads as pruned, and the next prune
/// removes the rest. The restorable window then starts at the oldest kept full backup.
public enum BackupPruner {
    public static func prune(
        directory: String, keepFull: Int, fileSystem fs: any FileSystem = POSIXFileSystem()
    ) throws(BackupError) -> PruneResult {
        guard keepFull >= 1 else { throw .invalidArgument("--keep-full must be at least 1 (the latest full backup is always kept)") }
        let catalog = try BackupCatalog.load(directory: directory, fs: fs, verifyBlocks: false)
        let archives = catalog.archives
        catalog.close()
        let fulls = archives.indices.filter { archives[$0].kind == .full }
        var first = archives.first?.sequence
        if fulls.count > keepFull {
            let keep = fulls[fulls.count - keepFull]
            if keep > 0 {
                let marker = PruneMarker(first: archives[keep].sequence, previous: archives[keep - 1].rootCID)
                do {
                    try fs.writeFileAtomically(directory + "/" + PruneMarker.fileName, bytes: marker.encoded())
                } catch {
                    throw .engine("cannot write \(directory)/\(PruneMarker.fileName): \(error)")
                }
                first = marker.first
            }
        }
        guard let first else { return PruneResult(removed: [], bytesFreed: 0, first: nil) }
        // Every backup file below the first: those just pruned, and any an interrupted prune left.
        let names: [String]
        do { names = try fs.listDirectory(directory) } catch { throw .engine("cannot list \(directory): \(error)") }
        var removed: [(UInt64, String)] = []
        var freed: Int64 = 0
        for name in names {
            guard let (sequence, _) = BackupFormat.parse(fileName: name), sequence < first else { continue }
            let path = directory + "/" + name
            do {
                let file = try fs.open(path, mode: .readOnly)
                freed += (try? file.size()) ?? 0
                try? file.close()
                try fs.remove(path)
            } catch {
                throw .engine("cannot remove \(path): \(error)")
            }
            removed.append((sequence, name))
        }
        if !removed.isEmpty {
            do { try fs.syncDirectory(directory) } catch { throw .engine("cannot sync \(directory): \(error)") }
        }
        return PruneResult(removed: removed.sorted { $0.0 < $1.0 }.map(\.1), bytesFreed: freed, first: first)
    }
}
