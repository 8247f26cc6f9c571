import Foundation
import HSDB
import HSDBCore
import IPLD
import Logging
import Synchronization

/// Online backups of an open database into one backup directory (`hsdb serve --backup-dir`):
/// an incremental CAR every `interval` while anything changed, and on demand (`POST /backups`).
///
/// No gap between retention and the archive: every collection's WAL is pinned (`backup`)
/// from the flushed LSN the last backup holds (set at the capture when there is no pin yet,
/// moved after each success), so the next backup's log starts at or before it and the
/// restorable windows of the chain join. While archiving fails the
/// pins stay (the WAL is kept, the failure is counted and logged, the next interval retries)
/// until a collection's pinned WAL passes `maxRetainedBytes`: then its pin goes, the chain is
/// recorded broken (`brokenChains`), and the next backup is a full one. The window then has a
/// gap, which `hsdb backup list` and `GET /backups` show; nothing is dropped silently.
public final class ContinuousArchiver: Sendable {
    public struct Settings: Sendable {
        public var directory: String
        public var interval: Duration = .seconds(10)
        public var maxRetainedBytes: Int64 = 4 << 30
        /// A backup is a full one (a new base) when the last full one is this old (nil: never
        /// by age) ...
        public var baseEvery: Duration? = .seconds(86_400)
        /// ... or when the incremental CARs since it hold this many bytes (nil: never by size).
        public var baseAfterBytes: Int64? = 1 << 30
        /// After each full backup, prune to this many full backups (0: keep every backup).
        public var keepFull = 0

        public init(directory: String) { self.directory = directory }
    }

    /// What `GET /backups`, `/metrics` and `/readyz` report.
    public struct Status: Sendable {
        /// Backups written by this process.
        public var backups = 0
        public var failures = 0
        /// Failed attempts since the last success (0: healthy).
        public var consecutiveFailures = 0
        public var lastError: String?
        /// Nanoseconds since the Unix epoch.
        public var lastSuccess: UInt64?
        public var lastAttempt: UInt64?
        /// Pins dropped at `maxRetainedBytes` (each makes the next backup full).
        public var brokenChains = 0
        /// Per collection, the last LSN the latest backup holds.
        public var archivedLSN: [String: UInt64] = [:]
    }

    /// The WAL pin that holds the log the next backup needs.
    public static let pinName = "backup"

    public let settings: Settings
    let db: Database
    let logger: Logger
    /// The backup directory's file system (the database has its own).
    let fs: any FileSystem
    private let serial = AsyncMutex()
    private struct State {
        var tip: BackupChainTip?
        var status = Status()
        var forceFull = false
        /// Every collection as the last backup saw it.
        var seen: [String: Fingerprint]?
    }
    private let state = Mutex(State())

    /// What a backup must see again when it changes: the log, and what changes without a
    /// record in it (the configuration, the payload indexes, which live in the manifest).
    struct Fingerprint: Equatable {
        let lastLSN: UInt64
        let config: CollectionConfig
        let payloadIndexes: [String: PayloadIndexType]

        init(_ c: Collection) {
            lastLSN = c.lastCommit.lsn
            config = c.config
            payloadIndexes = c.payloadIndexes
        }
    }

    public init(database: Database, settings: Settings, logger: Logger, fileSystem: any FileSystem = POSIXFileSystem()) {
        db = database
        self.settings = settings
        self.logger = logger
        fs = fileSystem
    }

    public var status: Status { state.withLock { $0.status } }

    /// Takes a backup now (after any one in progress): full when the chain is empty, was
    /// broken, or `forceFull`. Every write acknowledged before the call is in it.
    public func backupNow(forceFull: Bool = false) async throws -> BackupSummary {
        try await serial.withLock {
            let started = BackupClock.now()
            state.withLock { $0.status.lastAttempt = started }
            do {
                let summary = try await attempt(forceFull: forceFull)
                state.withLock { s in
                    s.status.backups += 1
                    s.status.consecutiveFailures = 0
                    s.status.lastError = nil
                    s.status.lastSuccess = started
                    s.status.archivedLSN = Dictionary(summary.archive.root.collections.map { ($0.name, $0.lastLSN) }, uniquingKeysWith: max)
                }
                logger.info("backup: \(summary.archive.fileName) (\(summary.archive.kind.rawValue), \(summary.archive.bytes) bytes, \(summary.blocksWritten) blocks written, \(summary.blocksReused) already archived), root \(summary.archive.rootCID)")
                return summary
            } catch {
                let count = state.withLock { s -> Int in
                    s.status.failures += 1
                    s.status.consecutiveFailures += 1
                    s.status.lastError = "\(error)"
                    s.tip = nil  // read the directory again next time
                    return s.status.consecutiveFailures
                }
                logger.error("backup into \(settings.directory) failed (\(count) in a row; the WAL it needs is kept): \(error)")
                throw error
            }
        }
    }

    private func attempt(forceFull: Bool) async throws -> BackupSummary {
        let (directory, fs) = (settings.directory, fs)
        let tip: BackupChainTip
        if let known = state.withLock({ $0.tip }) {
            tip = known
        } else {
            tip = try await runBlocking("hsdb.backup.chain") { try BackupChainTip.read(directory: directory, fileSystem: fs) }
        }
        var views: [CollectionBackupView] = []
        var seen: [String: Fingerprint] = [:]
        for name in try db.listCollections().map(\.name) {
            // Dropped since it was listed: not in this backup.
            guard let collection = try? db.collection(name) else { continue }
            seen[name] = Fingerprint(collection)  // taken first: at worst one backup too many
            // A collection without the archive's pin (the first backup, a new collection, a
            // broken chain) gets it at the capture, so the log after this backup's state is
            // held from that moment, not only once the backup is written.
            views.append(try await collection.backupView(keepingPin: Self.pinName))
        }
        let now = BackupClock.now()
        let base = baseDue(tip, now: now)
        if let base { logger.info("backup: a new base (full) backup is due: \(base)") }
        let full = forceFull || state.withLock { $0.forceFull } || base != nil
        let (summary, next) = try await runBlocking("hsdb.backup") { [views] in
            try BackupWriter.write(views, to: directory, after: tip, forceFull: full, fileSystem: fs, now: now)
        }
        state.withLock { s in
            s.tip = next
            s.seen = seen
            if full { s.forceFull = false }
        }
        for view in views {
            guard let collection = try? db.collection(view.name) else { continue }
            try await collection.pinWAL(Self.pinName, from: view.flushedLSN + 1)
        }
        if summary.archive.kind == .full, settings.keepFull > 0 { await prune() }
        return summary
    }

    /// Why the next backup must be a new base, or nil when an incremental one will do.
    func baseDue(_ tip: BackupChainTip, now: UInt64) -> String? {
        guard tip.sequence > 0 else { return nil }
        if let every = settings.baseEvery, let last = tip.lastFullCreated {
            let limit = UInt64(every.components.seconds) * 1_000_000_000 + UInt64(every.components.attoseconds / 1_000_000_000)
            if now >= last, now - last >= limit { return "the last full backup is \((now - last) / 1_000_000_000) s old" }
        }
        if let bytes = settings.baseAfterBytes, tip.incrementalBytesSinceFull >= bytes {
            return "\(tip.incrementalBytesSinceFull >> 20) MiB of incremental backups since the last full one"
        }
        return nil
    }

    /// Keeps `keepFull` full backups; a failure is logged (the backups stay, nothing is lost).
    private func prune() async {
        let (directory, keep, fs) = (settings.directory, settings.keepFull, fs)
        do {
            let result = try await runBlocking("hsdb.backup.prune") { try BackupPruner.prune(directory: directory, keepFull: keep, fileSystem: fs) }
            if !result.removed.isEmpty {
                logger.info("backup: pruned \(result.removed.count) backup(s) before backup \(result.first ?? 0) (\(result.bytesFreed >> 20) MiB), keeping \(keep) full")
            }
        } catch {
            logger.error("backup: pruning \(directory) failed (the backups are kept): \(error)")
        }
    }

    /// Removes the archive's WAL pins from every collection (a server started without
    /// `--backup-dir`: otherwise the last archiver's pin would keep the WAL forever).
    /// Returns the collections that had one.
    public static func releasePins(of db: Database) async throws -> [String] {
        var released: [String] = []
        for name in try db.listCollections().map(\.name) {
            guard let collection = try? db.collection(name) else { continue }
            let pins = collection.walPinLSNs
            guard pins[pinName] != nil || pins[Collection.backupCapturePin] != nil else { continue }
            try await collection.unpinWAL(pinName)
            try await collection.unpinWAL(Collection.backupCapturePin)
            released.append(name)
        }
        return released
    }

    /// Whether any collection's log, configuration or payload indexes changed, or a
    /// collection came or went, since the last backup.
    func changed() -> Bool {
        guard let seen = state.withLock({ $0.seen }) else { return true }
        guard let all = try? db.listCollections() else { return true }
        var now: [String: Fingerprint] = [:]
        for (name, _) in all { now[name] = (try? db.collection(name)).map(Fingerprint.init) }
        return now != seen
    }

    /// Backs up every `interval` while anything changed, until the task is cancelled; then
    /// once more, so a clean stop leaves nothing unarchived.
    public func run(until stopped: @Sendable () -> Bool) async {
        var last = ContinuousClock.now - settings.interval
        while !stopped(), !Task.isCancelled {
            if ContinuousClock.now - last >= settings.interval {
                last = .now
                if changed() { _ = try? await backupNow() }
                if status.consecutiveFailures > 0 { await enforceRetentionBound() }
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        if changed() { _ = try? await backupNow() }
    }

    /// While archiving fails: a collection whose pinned WAL passed the bound loses its pin.
    func enforceRetentionBound() async {
        guard let names = try? db.listCollections().map(\.name) else { return }
        for name in names {
            guard let collection = try? db.collection(name), let from = collection.walPinLSNs[Self.pinName],
                  let held = try? collection.walBytes(from: from), held > settings.maxRetainedBytes else { continue }
            do {
                try await collection.unpinWAL(Self.pinName)
            } catch {
                continue
            }
            state.withLock { s in
                s.forceFull = true
                s.status.brokenChains += 1
            }
            logger.error("backup: '\(name)' holds \(held >> 20) MiB of WAL for the archive (over \(settings.maxRetainedBytes >> 20) MiB) while archiving fails: its pin is dropped, the chain is broken after LSN \(from - 1), and the next backup is full")
        }
    }
}
