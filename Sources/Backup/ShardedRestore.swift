import Foundation
import HSDB
import HSDBCore

/// What a restore of a sharded collection reached for one shard.
public struct RestoredShard: Sendable, Equatable {
    public let shard: Int
    /// The node whose copy's backups were used.
    public let node: String
    public let reached: RestoredCollection
}

/// `hsdb restore --collection <c>` where `<c>` was sharded across nodes: each shard restored
/// from the backups of one of its copies (DESIGN.md, "Backups of shards"), then every shard's
/// points written into one collection of a new database, with the shards' configuration and
/// payload indexes. To a time, every shard stops at its last commit at or before it. The
/// database appears whole at `target` or not at all, as for any restore.
public enum ShardedRestore {
    public static func restore(
        from root: String, to target: String, collection name: String, at goal: RestoreTarget = .latest,
        fileSystem fs: any FileSystem = POSIXFileSystem(), progress: @escaping (String) -> Void = { _ in }
    ) async throws(BackupError) -> [RestoredShard] {
        if case .lsn = goal {
            throw .invalidArgument("'\(name)' is sharded and LSNs are per shard: restore one shard with --from <dir>/shards/\(name)/<uid>/<shard>/<node> --collection \(name) --at-lsn N")
        }
        if fs.fileExists(target) || fs.directoryExists(target) {
            guard fs.directoryExists(target), ((try? fs.listDirectory(target)) ?? ["?"]).isEmpty else { throw .targetNotEmpty(target) }
        }
        let incarnations = try newestFirst(try ShardBackupLayout.incarnations(root: root, collection: name, fileSystem: fs), root: root, fs: fs)
        guard !incarnations.isEmpty else { throw .invalidArgument("\(root) holds no backup of a sharded collection '\(name)'") }
        let staging = parentDirectory(of: target) + "/.restore-" + UUID().uuidString.lowercased()
        defer { try? fs.removeTree(staging) }
        var lastError: BackupError?
        for layout in incarnations {
            do {
                progress("restoring '\(name)' (incarnation \(layout.uid), \(layout.shardCount) shards)")
                let shards = try restoreShards(layout, root: root, staging: staging, goal: goal, fs: fs, progress: progress)
                try await merge(layout, shards: shards.count, staging: staging, fs: fs, progress: progress)
                do {
                    try fs.rename(staging + "/merged", to: target)
                    try fs.syncDirectory(parentDirectory(of: target))
                } catch {
                    throw BackupError.engine("cannot move the restored database to \(target): \(error)")
                }
                return shards
            } catch let e as BackupError {
                // A time before this incarnation began may be in an older one's window.
                guard case .outsideWindow = e, case .time = goal else { throw e }
                lastError = e
                try? fs.removeTree(staging)
            } catch {
                throw BackupError.engine(String(describing: error))
            }
        }
        throw lastError!
    }

    /// The incarnations, the one whose latest backup is newest first.
    static func newestFirst(_ layouts: [ShardBackupLayout], root: String, fs: any FileSystem) throws(BackupError) -> [ShardBackupLayout] {
        func newest(_ l: ShardBackupLayout) -> UInt64 {
            chains(l, root: root, fs: fs).flatMap { $0.map(\.created) }.max() ?? 0
        }
        return layouts.map { ($0, newest($0)) }.sorted { $0.1 > $1.1 }.map(\.0)
    }

    /// One shard's candidate chain: a node's backup directory, its last LSN and latest backup time.
    struct Chain {
        let node: String
        let directory: String
        let lastLSN: UInt64
        let created: UInt64
    }

    /// Per shard, the chains found, the one reaching furthest first.
    static func chains(_ layout: ShardBackupLayout, root: String, fs: any FileSystem) -> [[Chain]] {
        (0..<layout.shardCount).map { shard in
            let folder = layout.shardDirectory(root: root, shard: shard)
            let nodes = ((try? fs.listDirectory(folder)) ?? []).sorted()
            return nodes.compactMap { node -> Chain? in
                let directory = folder + "/" + node
                guard let listing = try? BackupListing.read(directory: directory, fileSystem: fs),
                      let last = listing.archives.last,
                      let entry = listing.windows.first(where: { $0.collection == layout.collection })?.entries.last else { return nil }
                return Chain(node: node, directory: directory, lastLSN: entry.collection.lastLSN, created: last.root.createdNanoseconds)
            }.sorted { ($0.lastLSN, $0.created) > ($1.lastLSN, $1.created) }
        }
    }

    /// Restores every shard into `<staging>/shard-<k>`, each from the first of its copies'
    /// chains that holds the goal.
    static func restoreShards(
        _ layout: ShardBackupLayout, root: String, staging: String, goal: RestoreTarget, fs: any FileSystem,
        progress: @escaping (String) -> Void
    ) throws(BackupError) -> [RestoredShard] {
        do { try fs.createDirectories(staging) } catch { throw .engine("cannot create \(staging): \(error)") }
        var restored: [RestoredShard] = []
        for (shard, candidates) in chains(layout, root: root, fs: fs).enumerated() {
            guard !candidates.isEmpty else {
                throw .invalidArgument("shard \(shard) of '\(layout.collection)' has no backup under \(layout.shardDirectory(root: root, shard: shard)): gather every node's backup directory into one (cp -r) and restore from it")
            }
            var failure: BackupError?
            for chain in candidates {
                progress("shard \(shard): from the backups of node \(chain.node)")
                do {
                    let reached = try BackupRestore.restore(
                        from: chain.directory, to: staging + "/shard-\(shard)", collection: layout.collection, at: goal, fileSystem: fs,
                        progress: progress)
                    restored.append(RestoredShard(shard: shard, node: chain.node, reached: reached[0]))
                    failure = nil
                    break
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
        }
        return restored
    }
}
