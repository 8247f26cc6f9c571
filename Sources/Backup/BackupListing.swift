import HSDB
import HSDBCore
import IPLD

/// What `hsdb backup list` shows: each backup (sequence, kind, root, bytes, per collection
/// LSN and time range) and each collection's restorable window. Reads roots only (blocks are
/// not hashed: `verify` does that).
public struct BackupListing: Sendable {
    public let archives: [BackupArchive]
    public let windows: [RestoreWindow]
    /// Set when the backups before this sequence were pruned.
    public var prunedBefore: UInt64?

    public static func read(directory: String, fileSystem fs: any FileSystem = POSIXFileSystem()) throws(BackupError) -> BackupListing {
        let catalog = try BackupCatalog.load(directory: directory, fs: fs, verifyBlocks: false)
        defer { catalog.close() }
        guard !catalog.archives.isEmpty else { throw .noBackups(directory: directory) }
        let names = Set(catalog.archives.flatMap { $0.root.collections.map(\.name) }).sorted()
        return BackupListing(archives: catalog.archives, windows: names.map { RestoreWindow(collection: $0, archives: catalog.archives) },
                             prunedBefore: catalog.prune?.first)
    }

    public func textLines() -> [String] {
        var lines = prunedBefore.map { ["backups before \($0) were pruned (\(PruneMarker.fileName))"] } ?? []
        for a in archives {
            lines.append("\(a.fileName)  \(a.kind.rawValue)  root \(a.rootCID)  \(a.bytes) bytes  created \(BackupClock.format(a.root.createdNanoseconds))")
            for c in a.root.collections {
                let times = c.firstTime.map { "  times \(BackupClock.format($0))...\(BackupClock.format(c.lastTime!))" } ?? ""
                lines.append("  \(c.name): flushed LSN \(c.flushedLSN), WAL LSN \(c.firstLSN)...\(c.lastLSN)\(times)")
            }
        }
        for w in windows { lines.append("restorable \(w.collection): \(w.description)") }
        return lines
    }

    public func jsonLines() -> [String] {
        archives.map { Self.json($0).description } + windows.map { Self.json($0).description }
    }

    /// One backup: sequence, kind, root CID, file, bytes, and per collection its LSNs and times.
    public static func json(_ a: BackupArchive) -> JSONValue {
        let collections = a.root.collections.map { c -> JSONValue in
            .object(["name": .string(c.name), "flushed_lsn": n(c.flushedLSN), "first_lsn": n(c.firstLSN), "last_lsn": n(c.lastLSN),
                     "first_time": c.firstTime.map { .string(BackupClock.format($0)) } ?? .null,
                     "last_time": c.lastTime.map { .string(BackupClock.format($0)) } ?? .null])
        }
        return .object([
            "sequence": n(a.sequence), "kind": .string(a.kind.rawValue), "root": .string(a.rootCID.text),
            "file": .string(a.fileName), "bytes": n(UInt64(a.bytes)), "collections": .array(collections),
        ])
    }

    /// One collection's restorable window: LSN ranges and the commit-time span.
    public static func json(_ w: RestoreWindow) -> JSONValue {
        .object([
            "collection": .string(w.collection),
            "restorable_lsns": .array(w.ranges.map { .array([n($0.lowerBound), n($0.upperBound)]) }),
            "restorable_times": w.timeRange.map { .array([.string(BackupClock.format($0.lowerBound)), .string(BackupClock.format($0.upperBound))]) } ?? .null,
        ])
    }

    private static func n(_ v: UInt64) -> JSONValue { .int(Int64(clamping: v)) }
}
