import ArgumentParser
import Backup
import HSDB

/// `hsdb backup create|list|verify`: offline CAR backups (DESIGN.md, "Backup and
/// point-in-time restore"). `create` takes the database lock, so it refuses politely while
/// a server holds the directory.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Offline incremental CAR backups.",
        subcommands: [BackupCreate.self, BackupList.self, BackupVerify.self])
}

struct BackupCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Back up a stopped database into a backup directory.")

    @Option(name: .long, help: "Database directory.")
    var data = "./hsdb-data"

    @Option(name: .long, help: "Backup directory (created if missing).")
    var to: String

    @Flag(name: .long, help: "Write every block, even those earlier backups hold.")
    var full = false

    func run() throws {
        let db: LockedDatabaseDirectory
        do {
            db = try LockedDatabaseDirectory.open(at: data)
        } catch HSDBError.databaseLocked(_, let pid) {
            OperatorCommand.fail("hsdb backup create: \(data) is in use by \(pid.map { "process \($0)" } ?? "another process") (a running `hsdb serve`?); stop it first", code: 2)
        } catch {
            OperatorCommand.fail("hsdb backup create: \(error)", code: 1)
        }
        defer { db.close() }
        do {
            let s = try BackupWriter.create(database: db, backupDirectory: to, forceFull: full)
            print("\(s.archive.fileName): \(s.archive.kind.rawValue), root \(s.archive.rootCID), \(s.archive.bytes) bytes, \(s.blocksWritten) blocks written, \(s.blocksReused) reused")
        } catch {
            OperatorCommand.fail("hsdb backup create: \(error)", code: 1)
        }
    }
}

struct BackupList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the backups and the restorable window of each collection.")

    @Argument(help: "Backup directory.")
    var directory: String

    @Flag(name: .long, help: "Print JSON: one object per backup, then one per collection window.")
    var json = false

    func run() throws {
        let listing: BackupListing
        do { listing = try BackupListing.read(directory: directory) } catch { OperatorCommand.fail("hsdb backup list: \(error)", code: 1) }
        for line in json ? listing.jsonLines() : listing.textLines() { print(line) }
    }
}

struct BackupVerify: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check every block, link, the chain and WAL continuity.")

    @Argument(help: "Backup directory.")
    var directory: String

    func run() throws {
        do {
            let report = try BackupVerifier.verify(directory: directory)
            print("ok: \(report.archives.count) backup(s), \(report.blocks) blocks, chain complete")
        } catch {
            OperatorCommand.fail("hsdb backup verify: \(error)", code: 1)
        }
    }
}

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restore a backup directory into a new database directory, optionally to a point in time.")

    @Option(name: .long, help: "Backup directory.")
    var from: String

    @Option(name: .long, help: "New database directory (must not exist, or be empty).")
    var to: String

    @Option(name: .long, help: "Only this collection.")
    var collection: String?

    @Option(name: .customLong("at-lsn"), help: "Restore to this LSN (needs --collection).")
    var atLSN: UInt64?

    @Option(name: .customLong("at-time"), help: "Restore to the last commit at or before this RFC 3339 time.")
    var atTime: String?

    func run() throws {
        var goal = RestoreTarget.latest
        if atLSN != nil && atTime != nil { OperatorCommand.fail("hsdb restore: give --at-lsn or --at-time, not both", code: 1) }
        if let n = atLSN { goal = .lsn(n) }
        if let t = atTime {
            guard let ns = BackupClock.parse(t) else { OperatorCommand.fail("hsdb restore: --at-time \(t) is not an RFC 3339 time (2026-12-02T06:11:11.5Z)", code: 1) }
            goal = .time(ns)
        }
        do {
            for r in try BackupRestore.restore(from: from, to: to, collection: collection, at: goal) {
                print("\(r.name): LSN \(r.lsn), committed \(r.commitTime.map(BackupClock.format) ?? "(no commit time)")")
            }
        } catch {
            OperatorCommand.fail("hsdb restore: \(error)", code: 1)
        }
    }
}
