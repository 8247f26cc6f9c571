import Backup
import HSDB
import HSDBCore
import Hummingbird

/// `POST /backups` (a backup now) and `GET /backups` (the chain, the windows, the archiver's
/// health): hsdb's own routes, present when the server runs with `--backup-dir`.
extension API {
    func registerBackups(on router: Router<Context>) {
        on(router, .post, "/backups") { request, _, start in
            let archiver = try backupArchiver()
            let full = request.uri.queryParameters.get("full").map { $0 == "true" } ?? false
            let summary: BackupSummary
            do {
                summary = try await archiver.backupNow(forceFull: full)
            } catch {
                throw APIError(status: .serviceUnavailable, message: "Service unavailable: the backup failed: \(error)")
            }
            let a = summary.archive
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("file"); w.string(a.fileName)
                w.key("sequence"); w.int(a.sequence)
                w.key("kind"); w.string(a.kind.rawValue)
                w.key("root"); w.string(a.rootCID.text)
                w.key("bytes"); w.int(a.bytes)
                w.key("blocks_written"); w.int(summary.blocksWritten)
                w.key("blocks_reused"); w.int(summary.blocksReused)
                w.key("collections"); w.beginArray()
                for c in a.root.collections {
                    w.beginObject()
                    w.key("name"); w.string(c.name)
                    w.key("lsn"); w.int(c.lastLSN)
                    w.key("commit_time")
                    if let t = c.lastTime { w.string(BackupClock.format(t)) } else { w.null() }
                    w.endObject()
                }
                w.endArray()
                w.endObject()
            }
        }

        on(router, .get, "/backups") { _, _, start in
            let archiver = try backupArchiver()
            let directory = archiver.settings.directory
            let listing: BackupListing?
            do {
                listing = try await runBlocking("hsdb.backup.list") { try BackupListing.read(directory: directory) }
            } catch BackupError.noBackups {
                listing = nil
            }
            let status = archiver.status
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("archiver"); w.value(Self.json(status, interval: archiver.settings.interval))
                w.key("backups"); w.value(.array((listing?.archives ?? []).map(BackupListing.json)))
                w.key("windows"); w.value(.array((listing?.windows ?? []).map(BackupListing.json)))
                w.endObject()
            }
        }
    }

    func backupArchiver() throws -> ContinuousArchiver {
        guard let archiver else { throw APIError.wrongInput("backups are off: start hsdb serve with --backup-dir DIR") }
        return archiver
    }

    static func json(_ s: ContinuousArchiver.Status, interval: Duration) -> JSONValue {
        func time(_ t: UInt64?) -> JSONValue { t.map { .string(BackupClock.format($0)) } ?? .null }
        return .object([
            "healthy": .bool(s.consecutiveFailures == 0),
            "interval_seconds": .int(interval.components.seconds),
            "backups": .int(Int64(s.backups)), "failures": .int(Int64(s.failures)),
            "consecutive_failures": .int(Int64(s.consecutiveFailures)),
            "last_error": s.lastError.map { .string($0) } ?? .null,
            "last_success": time(s.lastSuccess), "last_attempt": time(s.lastAttempt),
            "broken_chains": .int(Int64(s.brokenChains)),
            "archived_lsns": .object(s.archivedLSN.mapValues { .int(Int64(clamping: $0)) }),
        ])
    }
}

extension API {
    /// The archiver's families of `/metrics` (none without `--backup-dir`).
    func backupMetrics() -> String {
        guard let s = archiver?.status else { return "" }
        var out = PrometheusText()
        out.family("hsdb_backups_total", "counter", "Backups this process wrote into the backup directory.", [("", "\(s.backups)")])
        out.family("hsdb_backup_failures_total", "counter", "Backup attempts that failed (the WAL they needed is kept).", [("", "\(s.failures)")])
        out.family("hsdb_backup_consecutive_failures", "gauge", "Failed attempts since the last success (0: archiving is healthy).",
               [("", "\(s.consecutiveFailures)")])
        out.family("hsdb_backup_broken_chains_total", "counter", "Archive pins dropped at --backup-max-retained-mb while archiving failed.",
               [("", "\(s.brokenChains)")])
        if let t = s.lastSuccess {
            out.family("hsdb_backup_last_success_timestamp_seconds", "gauge", "When the last backup that succeeded started.",
                   [("", "\(Double(t) / 1e9)")])
        }
        out.family("hsdb_backup_archived_lsn", "gauge", "The last LSN of each collection the latest backup holds.",
               s.archivedLSN.sorted { $0.key < $1.key }.map { (PrometheusText.labels(("collection", $0.key)), "\($0.value)") })
        return out.text
    }
}
